// An application's secrets: names and when they changed. A value goes in once and is never shown again.
import { api } from '../api.js';
import { formatTime, h, notice, replace } from '../dom.js';
import { appHeader } from '../links.js';

export async function secretsPage(main, context, app) {
  const secretsPath = ['applications', app, 'secrets'];
  const message = h('div');
  const list = h('div');
  const writable = context.session.canChange;
  const name = h('input', { name: 'name', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'e.g. PUSH_API_KEY' });
  const value = h('input', { name: 'value', type: 'password', required: true, autocomplete: 'new-password' });

  async function show() {
    const secrets = await api('GET', secretsPath, { signal: context.signal });
    replace(list, secrets.length ? h('table', { 'aria-label': 'Secrets' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Value'), h('th', {}, 'Updated (UTC)'), writable ? h('th', {}) : null)),
      h('tbody', {}, secrets.map((secret) => h('tr', {},
        h('td', {}, h('code', {}, secret.name)),
        h('td', { class: 'muted' }, 'hidden'),
        h('td', {}, formatTime(secret.updatedTime)),
        writable ? h('td', { class: 'row' },
          h('button', {
            type: 'button', 'aria-label': `Replace ${secret.name}`,
            onclick() { name.value = secret.name; value.value = ''; value.focus(); },
          }, 'Replace'),
          h('button', {
            type: 'button', class: 'danger', 'aria-label': `Delete ${secret.name}`,
            async onclick() {
              if (!confirm(`Delete the secret ${secret.name}? Functions reading it get undefined.`)) return;
              try {
                await api('DELETE', [...secretsPath, secret.name]);
                replace(message, notice('ok', `Deleted ${secret.name}.`));
                await show();
              } catch (error) { replace(message, notice('error', error.message)); }
            },
          }, 'Delete')) : null))))
      : h('p', { class: 'muted' }, 'No secret yet.'));
  }

  const form = h('form', { class: 'row', 'aria-label': 'Set a secret' },
    h('label', {}, 'Secret name', name), h('label', { class: 'grow' }, 'Secret value', value),
    h('button', { type: 'submit', class: 'primary' }, 'Set secret'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('PUT', [...secretsPath, name.value.trim()], { body: { value: value.value } });
      replace(message, notice('ok', `Saved ${name.value.trim()}: functions read it as context.secrets.${name.value.trim()}.`));
      form.reset();
      await show();
    } catch (error) { replace(message, notice('error', error.message)); }
  });

  replace(main, ...appHeader(context, app, 'Secrets'),
    h('section', { class: 'card' },
      h('p', { class: 'muted' }, 'Sealed with AES-GCM in the registry and given to functions as context.secrets; masked in their output. No one can read a value back, not even here.'),
      list, writable ? [h('h3', {}, 'Set or replace a secret'), form] : null, message));
  await show();
}
