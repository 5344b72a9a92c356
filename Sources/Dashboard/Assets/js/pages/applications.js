// Every application: open one, create one, delete one.
import { api } from '../api.js';
import { formatTime, h, notice, replace } from '../dom.js';
import { appHref } from '../links.js';

export async function applicationsPage(main, context) {
  context.setBreadcrumbs([['Applications']]);
  const applications = await api('GET', ['applications'], { signal: context.signal });
  const message = h('div');
  const rows = applications.map((application) => h('tr', {},
    h('td', {}, h('a', { href: appHref(application.id) }, application.id)),
    h('td', {}, formatTime(application.createdTime)),
    h('td', {}, String(application.functionCount)),
    context.session.canChange ? h('td', {}, h('button', {
      type: 'button', class: 'danger', 'aria-label': `Delete ${application.id}`,
      async onclick() {
        if (!confirm(`Delete ${application.id}, its versions, runtime and secrets? Its functions stop on every worker.`)) return;
        try {
          await api('DELETE', ['applications', application.id]);
          context.navigate('#/');
        } catch (error) { replace(message, notice('error', error.message)); }
      },
    }, 'Delete')) : null));
  replace(main,
    h('h1', {}, 'Applications'),
    message,
    context.session.canChange ? createForm(context, message) : null,
    h('div', { class: 'card' }, applications.length
      ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Application'), h('th', {}, 'Created (UTC)'), h('th', {}, 'Functions'),
        context.session.canChange ? h('th', {}, h('span', { class: 'muted' }, 'Actions')) : null)), h('tbody', {}, rows))
      : h('p', { class: 'muted' }, 'No application yet.')));
}

function createForm(context, message) {
  const input = h('input', { name: 'application', required: true, placeholder: 'e.g. support-chat' });
  const form = h('form', { class: 'card row', 'aria-label': 'Create an application' },
    h('label', { class: 'grow' }, 'Application name', input),
    h('button', { class: 'primary', type: 'submit' }, 'Create application'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const id = input.value.trim();
    try {
      await api('PUT', ['applications', id]);
      context.navigate(appHref(id));
    } catch (error) { replace(message, notice('error', error.message)); }
  });
  return form;
}
