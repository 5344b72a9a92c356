// An application's dead letters: why each failed, how often it was tried, where it came from; replay.
import { api } from '../api.js';
import { formatTime, h, notice, replace } from '../dom.js';
import { appHeader } from '../links.js';

export async function deadLettersPage(main, context, app) {
  const path = ['applications', app, 'dead-letters'];
  const message = h('div');
  const list = h('div');
  const writable = context.session.canChange;

  async function replay(ids, count) {
    if (!ids && !confirm(`Publish all ${count} dead letters listed again, to the topic each came from? Ones replayed before are published again too.`)) return;
    try {
      const outcome = await api('POST', [...path, 'replay'], { body: ids ? { ids } : {} });
      const skipped = outcome.skipped.map((entry) => `${entry.id}: ${entry.reason}`).join('; ');
      replace(message, notice(outcome.skipped.length ? 'error' : 'ok',
        `Replayed ${outcome.replayed.length} to the topic they came from.`, skipped ? ` Skipped ${skipped}.` : ''));
      await show();
    } catch (error) { replace(message, notice('error', error.message)); }
  }

  async function show() {
    const letters = await api('GET', path, { signal: context.signal });
    replace(list, letters.length ? [
      writable ? h('p', {}, h('button', { type: 'button', class: 'primary', onclick: () => replay(null, letters.length) }, 'Replay all')) : null,
      h('table', { 'aria-label': 'Dead letters' },
        h('thead', {}, h('tr', {}, ['Time (UTC)', 'Trigger', 'Event id', 'Reason', 'Error', 'Attempts', 'Source position', writable ? '' : null]
          .filter((name) => name !== null).map((name) => h('th', {}, name)))),
        h('tbody', {}, letters.slice().reverse().map((letter) => h('tr', {},
          h('td', { class: 'nowrap' }, letter.time ? formatTime(Date.parse(letter.time)) : ''), h('td', {}, letter.trigger ?? ''), h('td', {}, h('code', {}, letter.eventId ?? '')),
          h('td', {}, h('span', { class: 'badge status-failed' }, letter.reason)), h('td', {}, h('pre', {}, letter.error)),
          h('td', {}, String(letter.attempts)), h('td', {}, h('code', {}, letter.source ?? '')),
          writable ? h('td', {}, h('button', { type: 'button', 'aria-label': `Replay ${letter.eventId ?? letter.id}`, onclick: () => replay([letter.id]) }, 'Replay')) : null)))),
    ] : h('p', { class: 'muted' }, 'No dead letters.'));
  }

  replace(main, ...appHeader(context, app, 'Dead letters'),
    h('section', { class: 'card' },
      h('div', { class: 'row' }, h('p', { class: 'muted grow' }, 'Events whose function failed every attempt, or that could not run. Replay publishes them again.'),
        h('button', { type: 'button', onclick: () => show().catch((error) => replace(message, notice('error', error.message))) }, 'Refresh')),
      message, list));
  await show();
}
