// An application's functions: every known trigger, blocking or not, deployed or not, and its custom ones.
import { api } from '../api.js';
import { h, kindBadge, replace } from '../dom.js';
import { appHeader, appHref } from '../links.js';
import { knownTriggers } from '../triggers.js';

export async function functionsPage(main, context, app) {
  const [functions, triggers] = await Promise.all([api('GET', ['applications', app, 'functions'], { signal: context.signal }), knownTriggers()]);
  const byTrigger = new Map(functions.map((fn) => [fn.trigger, fn]));
  const custom = functions.filter((fn) => !triggers.some((known) => known.type === fn.trigger));
  const row = (type, blocking, summary) => {
    const deployed = byTrigger.get(type)?.currentVersionNumber;
    return h('tr', {},
      h('td', {}, h('a', { href: appHref(app, 'functions', type) }, type)),
      h('td', {}, kindBadge(blocking)),
      h('td', {}, deployed ? h('span', { class: 'badge deployed' }, `deployed · version ${deployed}`) : h('span', { class: 'badge' }, 'not deployed')),
      h('td', { class: 'muted' }, summary));
  };
  const customForm = h('form', { class: 'row', 'aria-label': 'Open a custom trigger' },
    h('label', { class: 'grow' }, 'Custom trigger type', h('input', { name: 'trigger', required: true, placeholder: 'e.g. order.shipped' })),
    h('button', { type: 'submit' }, 'Open'));
  customForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const type = customForm.elements.trigger.value.trim();
    if (type) context.navigate(appHref(app, 'functions', type));
  });
  replace(main, ...appHeader(context, app, 'Functions'),
    h('div', { class: 'card' },
      h('table', { 'aria-label': 'Functions' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Trigger'), h('th', {}, 'Kind'), h('th', {}, 'Status'), h('th', {}, 'What it is for'))),
        h('tbody', {},
          triggers.map((known) => row(known.type, known.blocking, known.summary)),
          custom.map((fn) => row(fn.trigger, fn.blocking, 'Custom trigger')))),
      h('h3', {}, 'Another trigger'),
      h('p', { class: 'muted' }, 'Any dotted event type your chat platform publishes can have a function.'),
      customForm));
}
