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

/** Rows of two inputs (`names`), added and removed in place; `rows()` reads them back. */
function rowEditor({ what, names, initial, writable }) {
  const body = h('tbody');
  const addRow = (values = ['', '']) => {
    const index = body.children.length + 1;
    const inputs = names.map((name, column) => h('input', {
      'aria-label': `${name} of ${what} ${index}`, value: values[column], readOnly: !writable, autocomplete: 'off', spellcheck: 'false',
    }));
    const row = h('tr', {}, inputs.map((input) => h('td', {}, input)),
      writable ? h('td', {}, h('button', { type: 'button', 'aria-label': `Remove ${what} ${index}`, onclick: () => row.remove() }, 'Remove')) : null);
    body.append(row);
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
    replace(message, h('p', { class: 'muted' }, 'Installing with npm…'));
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
    }
  };
  return h('section', { class: 'card', 'aria-label': 'Dependencies' },
    h('h2', {}, 'Dependencies'),
    rows.element,
    h('p', {}, h('label', { class: 'wide' }, 'npm registry (optional)', registry)),
    writable ? h('div', { class: 'row' },
      h('button', { type: 'button', onclick: rows.add }, 'Add dependency'),
      h('button', { type: 'button', class: 'primary', onclick: save }, 'Save dependencies')) : null,
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
