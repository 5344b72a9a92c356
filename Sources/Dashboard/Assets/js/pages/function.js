// One function: edit and Save (a new version, live at once), Test a draft on an event, and its versions
// with a diff against the current one and Rollback.
import { api, ApiError } from '../api.js';
import { lineDiff } from '../diff.js';
import { createEditor } from '../editor.js';
import { formatDuration, formatTime, h, notice, replace, statusBadge } from '../dom.js';
import { appHeader, appHref } from '../links.js';
import { customTemplate, knownTriggers } from '../triggers.js';

export async function functionPage(main, context, app, trigger) {
  const { signal, session } = context;
  const functionPath = ['applications', app, 'functions', trigger];
  const [triggers, functions] = await Promise.all([knownTriggers(), api('GET', ['applications', app, 'functions'], { signal })]);
  const known = triggers.find((candidate) => candidate.type === trigger);
  let deployed = functions.find((fn) => fn.trigger === trigger);
  const current = deployed?.currentVersionNumber ? await api('GET', [...functionPath, 'current-version'], { signal }) : null;
  const blocking = known?.blocking ?? deployed?.blocking ?? false;

  const language = h('select', { name: 'language', 'aria-label': 'Language' },
    h('option', { value: 'javascript' }, 'JavaScript'), h('option', { value: 'typescript' }, 'TypeScript'));
  language.value = current?.language ?? 'javascript';
  const code = createEditor({ label: 'Function code', value: current?.handlerScript ?? known?.template ?? customTemplate(trigger), language: language.value });
  language.addEventListener('change', () => code.setLanguage(language.value));
  const saveMessage = h('div');
  const status = h('span');
  const showStatus = () => replace(status, deployed?.currentVersionNumber
    ? h('span', { class: 'badge deployed' }, `live: version ${deployed.currentVersionNumber}`)
    : h('span', { class: 'badge' }, 'not deployed'));
  showStatus();

  const versionsBox = h('div');
  const viewer = h('div');
  async function showVersions() {
    const versions = deployed ? await api('GET', [...functionPath, 'versions'], { signal }).catch((error) => {
      if (error instanceof ApiError && error.status === 404) return [];
      throw error;
    }) : [];
    replace(versionsBox, versions.length ? h('table', { 'aria-label': 'Versions' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Version'), h('th', {}, 'Saved (UTC)'), h('th', {}, 'Author'), h('th', {}, 'Language'), h('th', {}, ''))),
      h('tbody', {}, versions.slice().reverse().map((version) => h('tr', {},
        h('td', {}, `${version.versionNumber}`, version.versionNumber === deployed?.currentVersionNumber ? h('span', { class: 'badge deployed' }, ' current') : null,
          version.rollbackOf ? h('span', { class: 'muted' }, ` (rollback to ${version.rollbackOf})`) : null),
        h('td', {}, formatTime(version.createdTime)),
        h('td', {}, h('code', {}, version.author)),
        h('td', {}, version.language),
        h('td', {}, h('button', { type: 'button', 'aria-label': `View version ${version.versionNumber}`, onclick: () => view(version.versionNumber) }, 'View'))))))
      : h('p', { class: 'muted' }, 'No version yet: Save deploys the first.'));
  }

  async function view(number) {
    const version = await api('GET', [...functionPath, 'versions', String(number)], { signal });
    const live = deployed?.currentVersionNumber;
    const liveScript = live === number ? version.handlerScript : (await api('GET', [...functionPath, 'current-version'], { signal })).handlerScript;
    const outcome = h('div');
    const diff = lineDiff(version.handlerScript, liveScript);
    replace(viewer, h('div', { class: 'card', role: 'region', 'aria-label': `Version ${number}` },
      h('div', { class: 'row' }, h('h3', { class: 'grow' }, `Version ${number}`, live === number ? ' (current)' : ''),
        session.canChange && live !== number ? h('button', {
          type: 'button', class: 'primary',
          async onclick() {
            try {
              const made = await api('POST', [...functionPath, 'rollback'], { body: { versionNumber: number } });
              await reload();
              replace(saveMessage, notice('ok', `Rolled back: version ${made.versionNumber} (the code of version ${number}) is live.`));
              replace(viewer);
            } catch (error) { replace(outcome, notice('error', error.message)); }
          },
        }, 'Rollback') : null,
        h('button', { type: 'button', onclick: () => replace(viewer) }, 'Close')),
      outcome,
      h('pre', { class: 'output', 'aria-label': `Code of version ${number}` }, version.handlerScript),
      live === number ? null : [
        h('h3', {}, `Changes from version ${number} to the current version (${live})`),
        h('pre', { class: 'diff', 'aria-label': 'Diff against the current version' },
          diff.map((line) => h('span', { class: line.kind }, `${{ add: '+', del: '-', same: ' ' }[line.kind]} ${line.text}`))),
      ]));
  }

  async function reload() {
    deployed = (await api('GET', ['applications', app, 'functions'], { signal })).find((fn) => fn.trigger === trigger);
    const latest = await api('GET', [...functionPath, 'current-version'], { signal });
    code.setValue(latest.handlerScript);
    language.value = latest.language;
    code.setLanguage(latest.language);
    showStatus();
    await showVersions();
  }

  async function save() {
    replace(saveMessage);
    code.clearError();
    try {
      const version = await api('POST', [...functionPath, 'versions'],
        { body: { handlerScript: code.value(), language: language.value, requestId: crypto.randomUUID() } });
      await reload();
      replace(saveMessage, notice('ok', `Saved version ${version.versionNumber}: live on every worker.`));
    } catch (error) {
      showProblem(saveMessage, error, deployed?.currentVersionNumber ? `Version ${deployed.currentVersionNumber} stays live.` : 'Nothing was deployed.');
    }
  }

  function showProblem(box, error, after = '') {
    if (error instanceof ApiError && error.line) code.markError(error.line, error.column);
    replace(box, notice('error', error instanceof ApiError ? error.describe() : error.message, after ? h('br') : null, after));
  }

  const eventEditor = createEditor({ label: 'Test event', value: prettyJSON(known?.exampleEvent ?? '{}'), language: 'json', short: true });
  const testOutcome = h('div', { 'aria-live': 'polite' });
  async function runTest() {
    replace(testOutcome, h('p', { class: 'muted' }, 'Running…'));
    code.clearError();
    let event;
    try { event = JSON.parse(eventEditor.value()); } catch (error) {
      replace(testOutcome, notice('error', `The test event is not JSON: ${error.message}`));
      return;
    }
    try {
      const outcome = await api('POST', [...functionPath, 'test'], { body: { event, handlerScript: code.value(), language: language.value } });
      replace(testOutcome, showOutcome(outcome, blocking));
    } catch (error) { showProblem(testOutcome, error); }
  }

  const save_ = session.canChange ? h('button', { type: 'button', class: 'primary', onclick: save }, 'Save') : null;
  const undeploy = session.canChange && deployed?.currentVersionNumber ? h('button', {
    type: 'button', class: 'danger',
    async onclick() {
      if (!confirm(`Undeploy ${trigger}? Its events are no longer handled; its versions are kept.`)) return;
      try {
        await api('DELETE', functionPath);
        context.navigate(appHref(app));
      } catch (error) { replace(saveMessage, notice('error', error.message)); }
    },
  }, 'Undeploy') : null;

  replace(main, ...appHeader(context, app, 'Functions', [trigger]),
    h('div', { class: 'row' }, h('h2', { class: 'grow' }, trigger, ' ',
      h('span', { class: `badge${blocking ? ' blocking' : ''}` }, blocking ? 'blocking' : 'non-blocking'), ' ', status)),
    known ? h('p', { class: 'muted' }, known.summary, ' Event: ', h('code', {}, known.eventShape)) : null,
    h('div', { class: 'split' },
      h('section', { class: 'card', 'aria-label': 'Code' },
        h('div', { class: 'row' }, h('h3', { class: 'grow' }, 'Code'), language),
        code.element,
        h('div', { class: 'row' }, save_, undeploy, session.canChange ? h('span', { class: 'muted' }, 'Save deploys a new version at once.') : null),
        saveMessage,
        deployed ? settings(deployed.settings) : null),
      h('section', { class: 'card', 'aria-label': 'Test' },
        h('h3', {}, 'Test with an event'),
        h('p', { class: 'muted' }, 'Runs the code in the editor, in this application\'s runtime, without deploying it.'),
        eventEditor.element,
        session.canChange ? h('p', {}, h('button', { type: 'button', class: 'primary', onclick: runTest }, 'Test')) : null,
        testOutcome)),
    h('section', { class: 'card', 'aria-label': 'Versions section' }, h('h3', {}, 'Versions'), versionsBox),
    viewer);
  await showVersions();
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
    outcome.error ? [h('h3', {}, 'Error'), h('pre', { class: 'output' }, `${outcome.error.name ?? 'Error'}: ${outcome.error.message ?? ''}\n${outcome.error.stack ?? ''}`)] : null,
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
