// An application's recent invocations, newest first, refreshed every second; open one to read what it
// printed. Filters by trigger and status.
import { api } from '../api.js';
import { clockTime, errorText, formatDuration, formatTime, h, notice, replace, statusBadge } from '../dom.js';
import { appHeader } from '../links.js';
import { every } from '../polling.js';

const STATUSES = ['succeeded', 'failed', 'timeout', 'crashed', 'invalid_event'];
const REFRESH_MS = 1000;

export async function invocationsPage(main, context, app) {
  const functions = await api('GET', ['applications', app, 'functions'], { signal: context.signal });
  const trigger = h('select', { name: 'trigger' }, h('option', { value: '' }, 'All triggers'),
    functions.map((fn) => h('option', { value: fn.trigger }, fn.trigger)));
  const status = h('select', { name: 'status' }, h('option', { value: '' }, 'Any status'), STATUSES.map((name) => h('option', { value: name }, name)));
  const body = h('tbody');
  const problem = h('div');
  const live = h('span', { class: 'live', role: 'status' });
  const open = new Set();
  let shown = '';
  let entries = [];

  function render() {
    replace(body, entries.length ? entries.flatMap((entry) => {
      const expanded = open.has(entry.invocationId);
      const row = h('tr', {},
        h('td', {}, formatTime(entry.createdTime)),
        h('td', {}, entry.trigger),
        h('td', {}, h('code', {}, entry.eventId)),
        h('td', {}, statusBadge(entry.status)),
        h('td', {}, formatDuration(entry.durationMs), entry.coldStart ? h('span', { class: 'muted' }, ' (cold)') : null),
        h('td', {}, entry.versionNumber ?? ''),
        h('td', {}, String(entry.attempt)),
        h('td', {}, h('button', {
          type: 'button', 'aria-expanded': String(expanded), 'aria-label': `Output of ${entry.eventId}`,
          onclick() { if (!open.delete(entry.invocationId)) open.add(entry.invocationId); render(); },
        }, expanded ? 'Hide' : 'Output')));
      if (!expanded) return [row];
      const error = entry.error ? `\n${errorText(entry.error)}` : '';
      return [row, h('tr', { class: 'details' }, h('td', { colspan: '8' },
        h('pre', { class: 'output', 'aria-label': `Console output of ${entry.eventId}` }, (entry.logs.join('\n') || '(nothing printed)') + error)))];
    }) : h('tr', {}, h('td', { colspan: '8', class: 'muted' }, 'No invocation yet.')));
  }

  // Only the answer to the latest request is shown: one sent before a filter changed is stale.
  let latestRequest = 0;
  async function refresh() {
    const request = ++latestRequest;
    let answer;
    try {
      answer = await api('GET', ['applications', app, 'invocations'],
        { signal: context.signal, query: { limit: '100', trigger: trigger.value, status: status.value } });
    } catch (error) {
      if (error.name === 'AbortError') throw error;
      if (request === latestRequest) replace(problem, notice('error', error.message));
      return;
    }
    if (request !== latestRequest) return;
    entries = answer;
    replace(problem);
    replace(live, `live · updated ${clockTime()} UTC`);
    // Redrawn only when something changed, so a selection in an open output survives.
    const signature = entries.map((entry) => entry.invocationId).join(',');
    if (signature !== shown) {
      shown = signature;
      render();
    }
  }
  for (const select of [trigger, status]) select.addEventListener('change', () => { shown = '-'; refresh(); });

  replace(main, ...appHeader(context, app, 'Invocations'),
    h('section', { class: 'card' },
      h('div', { class: 'row' }, h('label', {}, 'Trigger', trigger), h('label', {}, 'Status', status), h('span', { class: 'grow' }), live),
      problem,
      h('table', { 'aria-label': 'Invocations' },
        h('thead', {}, h('tr', {}, ['Time (UTC)', 'Trigger', 'Event id', 'Status', 'Duration', 'Version', 'Attempt', ''].map((name) => h('th', {}, name)))),
        body)));
  render();
  every(context.signal, REFRESH_MS, refresh);
}
