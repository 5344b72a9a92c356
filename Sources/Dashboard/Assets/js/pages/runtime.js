// An application's chat runtime: npm dependencies (with the install's outcome), the initialization
// script and environment variables.
import { api } from '../api.js';
import { createEditor } from '../editor.js';
import { formatTime, h, notice, replace, statusBadge } from '../dom.js';
import { appHeader } from '../links.js';

export async function runtimePage(main, context, app) {
  const runtimePath = ['applications', app, 'runtime'];
  const runtime = await api('GET', runtimePath, { signal: context.signal });
  const writable = context.session.canChange;
  replace(main, ...appHeader(context, app, 'Runtime'),
    dependenciesCard(app, runtime, writable),
    initializationCard(app, runtime, writable),
    environmentCard(app, runtime, writable));
}

/** Rows of two inputs (`names`), added and removed in place, labelled by their position; `rows()` reads them back. */
function rowEditor({ what, names, initial, writable }) {
  const body = h('tbody');
  const relabel = () => [...body.children].forEach((row, index) => {
    row.querySelectorAll('input').forEach((input, column) => input.setAttribute('aria-label', `${names[column]} of ${what} ${index + 1}`));
    row.querySelector('button')?.setAttribute('aria-label', `Remove ${what} ${index + 1}`);
  });
  const addRow = (values = ['', '']) => {
    const inputs = names.map((name, column) => h('input', { value: values[column], readOnly: !writable, autocomplete: 'off', spellcheck: 'false' }));
    const row = h('tr', {}, inputs.map((input) => h('td', {}, input)),
      writable ? h('td', {}, h('button', { type: 'button', onclick: () => { row.remove(); relabel(); } }, 'Remove')) : null);
    body.append(row);
    relabel();
    return inputs[0];
  };
  initial.forEach(addRow);
  return {
    element: h('table', {}, h('thead', {}, h('tr', {}, names.map((name) => h('th', {}, name)), writable ? h('th', {}) : null)), body),
    add: () => addRow().focus(),
    rows: () => [...body.children].map((row) => [...row.querySelectorAll('input')].map((input) => input.value.trim()))
      .filter(([name, value]) => name || value),
  };
}

/** The first problem of name/value rows: a value without a name, or a name twice. */
function rowProblem(rows, what) {
  const seen = new Set();
  for (const [name] of rows) {
    if (!name) return `a ${what} has a value but no name`;
    if (seen.has(name)) return `${name} is listed twice`;
    seen.add(name);
  }
  return null;
}

function dependenciesCard(app, runtime, writable) {
  const rows = rowEditor({ what: 'dependency', names: ['Name', 'Version'], initial: runtime.dependencies.map((d) => [d.name, d.version]), writable });
  const registry = h('input', { name: 'npmRegistry', value: runtime.npmRegistry ?? '', readOnly: !writable, placeholder: 'npm\'s default', autocomplete: 'off' });
  const message = h('div');
  const status = h('div');
  const showStatus = (current) => replace(status, current.status
    ? h('p', {}, 'Install: ', statusBadge(current.status.state), ` at ${formatTime(current.status.time)} UTC`,
      current.status.message ? h('pre', { class: 'output', 'aria-label': 'npm output' }, current.status.message) : null)
    : h('p', { class: 'muted' }, current.dependencies.length ? 'Not installed yet.' : 'No dependencies.'));
  showStatus(runtime);
  const save = async () => {
    const problem = rowProblem(rows.rows(), 'dependency');
    if (problem) return replace(message, notice('error', `Not saved: ${problem}.`));
    replace(message, h('p', { class: 'muted' }, 'Installing with npm…'));
    saveButton.disabled = true;
    const dependencies = rows.rows().map(([name, version]) => ({ name, version }));
    try {
      const updated = await api('PUT', ['applications', app, 'runtime', 'dependencies'],
        { body: { dependencies, npmRegistry: registry.value.trim() || undefined } });
      showStatus(updated);
      replace(message, notice('ok', 'Installed: workers use these dependencies from their next start of this application.'));
    } catch (error) {
      const updated = await api('GET', ['applications', app, 'runtime']).catch(() => null);
      if (updated) showStatus(updated);
      const installFailed = error.status === 422 && updated?.status?.state === 'failed';
      replace(message, notice('error', installFailed
        ? 'npm could not install them; the previous runtime keeps serving. npm\'s output is below.'
        : error.message));
    } finally {
      saveButton.disabled = false;
    }
  };
  const saveButton = h('button', { type: 'button', class: 'primary', onclick: save }, 'Save dependencies');
  return h('section', { class: 'card', 'aria-label': 'Dependencies' },
    h('h2', {}, 'Dependencies'),
    rows.element,
    h('p', {}, h('label', { class: 'wide' }, 'npm registry (optional)', registry)),
    writable ? h('div', { class: 'row' },
      h('button', { type: 'button', onclick: rows.add }, 'Add dependency'), saveButton) : null,
    message, status);
}

function initializationCard(app, runtime, writable) {
  const editor = createEditor({ label: 'Initialization script', value: runtime.initializationScript ?? '', short: true, readOnly: !writable });
  const message = h('div');
  const save = async () => {
    editor.clearError();
    try {
      await api('PUT', ['applications', app, 'runtime', 'initialization-script'], { body: { script: editor.value() } });
      replace(message, notice('ok', 'Saved: it runs once in every worker process, before any function.'));
    } catch (error) {
      if (error.line) editor.markError(error.line, error.column);
      replace(message, notice('error', error.describe?.() ?? error.message));
    }
  };
  return h('section', { class: 'card', 'aria-label': 'Initialization script section' },
    h('h2', {}, 'Initialization script'),
    h('p', { class: 'muted' }, 'Runs once per worker process before any function; what it exports is context.init.'),
    editor.element,
    writable ? h('p', {}, h('button', { type: 'button', class: 'primary', onclick: save }, 'Save initialization script')) : null,
    message);
}

function environmentCard(app, runtime, writable) {
  const rows = rowEditor({ what: 'variable', names: ['Name', 'Value'], initial: Object.entries(runtime.environmentVariables), writable });
  const message = h('div');
  const save = async () => {
    const problem = rowProblem(rows.rows(), 'variable');
    if (problem) return replace(message, notice('error', `Not saved: ${problem}.`));
    try {
      await api('PUT', ['applications', app, 'runtime', 'environment-variables'], { body: Object.fromEntries(rows.rows()) });
      replace(message, notice('ok', 'Saved: live on every worker.'));
    } catch (error) { replace(message, notice('error', error.message)); }
  };
  return h('section', { class: 'card', 'aria-label': 'Environment variables' },
    h('h2', {}, 'Environment variables'),
    h('p', { class: 'muted' }, 'Plain settings, readable by anyone with a token. Keep credentials in Secrets.'),
    rows.element,
    writable ? h('div', { class: 'row' },
      h('button', { type: 'button', onclick: rows.add }, 'Add variable'),
      h('button', { type: 'button', class: 'primary', onclick: save }, 'Save environment variables')) : null,
    message);
}
