// Sign in with an API token (CHATFN_API_TOKEN, or CHATFN_API_READ_TOKEN to look without changing).
import { h, notice, replace } from '../dom.js';

export function signInPage(main, { message, signIn }) {
  const input = h('input', { id: 'api-token', name: 'token', type: 'password', autocomplete: 'off', required: true, autofocus: true });
  const problem = h('div');
  const form = h('form', { class: 'card signin', 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in to chatfn'),
    message ? notice('ok', message) : null,
    h('p', { class: 'muted' }, 'The control plane\'s API token (CHATFN_API_TOKEN, or CHATFN_API_READ_TOKEN to look around). It stays in this tab only.'),
    h('label', { for: 'api-token' }, 'API token'),
    input,
    problem,
    h('p', {}, h('button', { class: 'primary', type: 'submit' }, 'Sign in')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    replace(problem);
    try {
      await signIn(input.value.trim());
    } catch (error) {
      replace(problem, notice('error', error.message));
      input.select();
    }
  });
  replace(main, form);
  input.focus();
}
