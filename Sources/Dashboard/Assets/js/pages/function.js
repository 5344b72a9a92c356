// One function: edit and Save (a new version, live at once), Test a draft on an event, and its versions
// with a diff against the current one and Rollback.
import { api, ApiError } from '../api.js';
import { lineDiff } from '../diff.js';
import { createEditor } from '../editor.js';
import { errorText, formatDuration, formatTime, h, kindBadge, notice, replace, statusBadge } from '../dom.js';
import { appHeader, appHref } from '../links.js';
import { customTemplate, knownTriggers } from '../triggers.js';

export async function functionPage(main, context, app, trigger) {
  const { signal, session } = context;
  const writable = session.canChange;
  const functionPath = ['applications', app, 'functions', trigger];
  const [triggers, functions] = await Promise.all([knownTriggers(), api('GET', ['applications', app, 'functions'], { signal })]);
  const known = triggers.find((candidate) => candidate.type === trigger);
  // The function as the application lists it (deployed or not), when it has one.
  let listed = functions.find((fn) => fn.trigger === trigger);
  const blocking = known?.blocking ?? listed?.blocking ?? false;
  // The live version's code; else (undeployed) the newest version's; else the trigger's template.
  const versions = listed ? await listVersions() : [];
  const newest = listed?.currentVersionNumber ?? versions.at(-1)?.versionNumber;
  const start = newest ? await api('GET', [...functionPath, 'versions', String(newest)], { signal }) : null;

  const language = h('select', { name: 'language', 'aria-label': 'Language', disabled: !writable },
    h('option', { value: 'javascript' }, 'JavaScript'), h('option', { value: 'typescript' }, 'TypeScript'));
  language.value = start?.language ?? 'javascript';
  const code = createEditor({
    label: 'Function code', value: start?.handlerScript ?? known?.template ?? customTemplate(trigger), language: language.value, readOnly: !writable,
  });
  language.addEventListener('change', () => code.setLanguage(language.value));
  const saveMessage = h('div');
  const status = h('span');
  const actions = h('div', { class: 'row' });
  const versionsBox = h('div');
  const viewer = h('div');

  function showStatus() {
    replace(status, listed?.currentVersionNumber
      ? h('span', { class: 'badge deployed' }, `live: version ${listed.currentVersionNumber}`)
      : h('span', { class: 'badge' }, 'not listed'));
    replace(actions, writable ? [
      saveButton,
      listed?.currentVersionNumber ? h('button', { type: 'button', class: 'danger', onclick: undeploy }, 'Undeploy') : null,
      h('span', { class: 'muted' }, 'Save deploys a new version at once.'),
    ] : null);
  }

  async function listVersions() {
    return api('GET', [...functionPath, 'versions'], { signal }).catch((error) => {
      if (error instanceof ApiError && error.status === 404) return [];
      throw error;
    });
  }

  function showVersions(list) {
    replace(versionsBox, list.length ? h('table', { 'aria-label': 'Versions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Version'), h('th', {}, 'Saved (UTC)'), h('th', {}, 'Author'), h('th', {}, 'Language'), h('th', {}, ''))),
      h('tbody', {}, list.slice().reverse().map((version) => h('tr', {},
        h('td', {}, `${version.versionNumber}`, version.versionNumber === listed?.currentVersionNumber ? h('span', { class: 'badge deployed' }, ' current') : null,
          version.rollbackOf ? h('span', { class: 'muted' }, ` (rollback to ${version.rollbackOf})`) : null),
        h('td', {}, formatTime(version.createdTime)),
        h('td', {}, h('code', {}, version.author)),
        h('td', {}, version.language),
        h('td', {}, h('button', { type: 'button', 'aria-label': `View version ${version.versionNumber}`, onclick: () => view(version.versionNumber) }, 'View'))))))
      : h('p', { class: 'muted' }, 'No version yet: Save deploys the first.'));
  }

  async function view(number) {
    try {
      const version = await api('GET', [...functionPath, 'versions', String(number)], { signal });
      const live = listed?.currentVersionNumber;
      const liveScript = !live ? null : live === number ? version.handlerScript : (await api('GET', [...functionPath, 'current-version'], { signal })).handlerScript;
      const outcome = h('div');
      replace(viewer, h('div', { class: 'card', role: 'region', 'aria-label': `Version ${number}` },
        h('div', { class: 'row' }, h('h3', { class: 'grow' }, `Version ${number}`, live === number ? ' (current)' : ''),
          writable && live !== number ? h('button', { type: 'button', class: 'primary', onclick: () => rollback(number, outcome) }, 'Rollback') : null,
          h('button', { type: 'button', onclick: () => replace(viewer) }, 'Close')),
        outcome,
        h('pre', { class: 'output', 'aria-label': `Code of version ${number}` }, version.handlerScript),
        liveScript === null ? h('p', { class: 'muted' }, 'No version is live: Rollback deploys this one.')
          : live === number ? null : [
            h('h3', {}, `Changes from version ${number} to the current version (${live})`),
            h('pre', { class: 'diff', 'aria-label': 'Diff against the current version' },
              lineDiff(version.handlerScript, liveScript).map((line) => h('span', { class: line.kind }, `${{ add: '+', del: '-', same: ' ' }[line.kind]} ${line.text}`))),
          ]));
    } catch (error) {
      if (error.name !== 'AbortError') replace(viewer, notice('error', `Version ${number} cannot be shown: ${error.message}`));
    }
  }

  async function rollback(number, outcome) {
    try {
      const made = await api('POST', [...functionPath, 'rollback'], { body: { versionNumber: number } });
      await reload({ replaceCode: true });
      replace(saveMessage, notice('ok', `Rolled back: version ${made.versionNumber} (the code of version ${number}) is live.`));
      replace(viewer);
    } catch (error) { replace(outcome, notice('error', error.message)); }
  }

  /// Reads the function again; the editor takes the live code only when asked (a rollback).
  async function reload({ replaceCode }) {
    listed = (await api('GET', ['applications', app, 'functions'], { signal })).find((fn) => fn.trigger === trigger);
    if (replaceCode && listed?.currentVersionNumber) {
      const latest = await api('GET', [...functionPath, 'current-version'], { signal });
      code.setValue(latest.handlerScript);
      language.value = latest.language;
      code.setLanguage(latest.language);
    }
    showStatus();
    showVersions(listed ? await listVersions() : []);
  }

  // A Save retried after a failure (the answer lost, say) sends the same request id, so the registry
  // makes one version of it; a successful save ends the draft.
  let draft = { text: null, requestId: null };
  async function save() {
    replace(saveMessage);
    code.clearError();
    const handlerScript = code.value();
    if (draft.text !== handlerScript) draft = { text: handlerScript, requestId: crypto.randomUUID() };
    saveButton.disabled = true;
    code.setReadOnly(true);
    try {
      const version = await api('POST', [...functionPath, 'versions'], { body: { handlerScript, language: language.value, requestId: draft.requestId } });
      draft = { text: null, requestId: null };
      await reload({ replaceCode: false });
      replace(saveMessage, notice('ok', `Saved version ${version.versionNumber}: live on every worker.`));
    } catch (error) {
      showProblem(saveMessage, error, listed?.currentVersionNumber ? `Version ${listed.currentVersionNumber} stays live.` : 'Nothing was listed.');
    } finally {
      saveButton.disabled = false;
      code.setReadOnly(false);
    }
  }
  const saveButton = h('button', { type: 'button', class: 'primary', onclick: save }, 'Save');

  async function undeploy() {
    if (!confirm(`Undeploy ${trigger}? Its events are no longer handled; its versions are kept.`)) return;
    try {
      await api('DELETE', functionPath);
      context.navigate(appHref(app));
    } catch (error) { replace(saveMessage, notice('error', error.message)); }
  }

  function showProblem(box, error, after = '') {
    if (error instanceof ApiError && error.line) code.markError(error.line, error.column);
    replace(box, notice('error', error instanceof ApiError ? error.describe() : error.message, after ? h('br') : null, after));
  }

  const eventEditor = createEditor({ label: 'Test event', value: prettyJSON(known?.exampleEvent ?? '{}'), language: 'json', short: true });
  const testOutcome = h('div', { 'aria-live': 'polite' });
  const testButton = h('button', { type: 'button', class: 'primary', onclick: runTest }, 'Test');
  async function runTest() {
    replace(testOutcome, h('p', { class: 'muted' }, 'Running…'));
    code.clearError();
    let event;
    try { event = JSON.parse(eventEditor.value()); } catch (error) {
      replace(testOutcome, notice('error', `The test event is not JSON: ${error.message}`));
      return;
    }
    testButton.disabled = true;
    try {
      const outcome = await api('POST', [...functionPath, 'test'], { body: { event, handlerScript: code.value(), language: language.value } });
      replace(testOutcome, showOutcome(outcome, blocking));
    } catch (error) {
      showProblem(testOutcome, error);
    } finally {
      testButton.disabled = false;
    }
  }

  showStatus();
  showVersions(versions);
  replace(main, ...appHeader(context, app, 'Functions', [trigger]),
    h('div', { class: 'row' }, h('h2', { class: 'grow' }, trigger, ' ', kindBadge(blocking), ' ', status)),
    known ? h('p', { class: 'muted' }, known.summary, ' Event: ', h('code', {}, known.eventShape)) : null,
    h('div', { class: 'split' },
      h('section', { class: 'card', 'aria-label': 'Code' },
        h('div', { class: 'row' }, h('h3', { class: 'grow' }, 'Code'), language),
        code.element, actions, saveMessage,
        listed ? settings(listed.settings) : null),
      h('section', { class: 'card', 'aria-label': 'Test' },
        h('h3', {}, 'Test with an event'),
        h('p', { class: 'muted' }, 'Runs the code in the editor, in this application\'s runtime, without deploying it.'),
        eventEditor.element,
        writable ? h('p', {}, testButton) : null,
        testOutcome)),
    h('section', { class: 'card', 'aria-label': 'Versions section' }, h('h3', {}, 'Versions'), versionsBox),
    viewer);
}

function showOutcome(outcome, blocking) {
  const json = (value) => h('pre', { class: 'output' }, JSON.stringify(value, null, 2));
  return h('div', { role: 'region', 'aria-label': 'Test outcome' },
    h('dl', { class: 'kv' },
      h('dt', {}, 'Status'), h('dd', {}, statusBadge(outcome.status)),
      h('dt', {}, 'Duration'), h('dd', {}, formatDuration(outcome.durationMs)),
      outcome.versionNumber ? [h('dt', {}, 'Version'), h('dd', {}, String(outcome.versionNumber))] : null),
    blocking && outcome.decision ? [h('h3', {}, 'Decision'), json(outcome.decision)] : null,
    !blocking && outcome.result !== undefined && outcome.result !== null ? [h('h3', {}, 'Result'), json(outcome.result)] : null,
    outcome.error ? [h('h3', {}, 'Error'), h('pre', { class: 'output' }, errorText(outcome.error))] : null,
    outcome.emitted?.length ? [h('h3', {}, 'Would emit'), json(outcome.emitted)] : null,
    h('h3', {}, 'Console output'),
    h('pre', { class: 'output', 'aria-label': 'Console output' }, outcome.logs.length ? outcome.logs.join('\n') : '(nothing printed)'));
}

function settings(values) {
  const entries = Object.entries(values ?? {});
  if (!entries.length) return null;
  return h('details', {}, h('summary', {}, 'Settings'),
    h('dl', { class: 'kv' }, entries.map(([name, value]) => [h('dt', {}, name), h('dd', {}, String(value))])));
}

function prettyJSON(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}
