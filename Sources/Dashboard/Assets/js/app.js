// The dashboard's shell: who is signed in, which page the address names, and the page's lifetime.
import { api, ApiError, token, whenUnauthorized } from './api.js';
import { h, notice, replace } from './dom.js';
import { applicationsPage } from './pages/applications.js';
import { deadLettersPage } from './pages/dead-letters.js';
import { functionPage } from './pages/function.js';
import { functionsPage } from './pages/functions.js';
import { invocationsPage } from './pages/invocations.js';
import { runtimePage } from './pages/runtime.js';
import { secretsPage } from './pages/secrets.js';
import { signInPage } from './pages/sign-in.js';

const main = document.getElementById('main');
const sessionBox = document.getElementById('session');
const breadcrumbs = document.getElementById('breadcrumbs');

/** What the token may do: `{canChange, fingerprint, open}` (open: the API needs no token). */
let session = null;
/** The current page's lifetime: aborted when another page replaces it. */
let pageLifetime = new AbortController();

const routes = [
  [/^\/?$/, applicationsPage],
  [/^\/apps\/([^/]+)$/, functionsPage],
  [/^\/apps\/([^/]+)\/functions\/([^/]+)$/, functionPage],
  [/^\/apps\/([^/]+)\/runtime$/, runtimePage],
  [/^\/apps\/([^/]+)\/secrets$/, secretsPage],
  [/^\/apps\/([^/]+)\/invocations$/, invocationsPage],
  [/^\/apps\/([^/]+)\/dead-letters$/, deadLettersPage],
];

async function start() {
  whenUnauthorized(() => {
    if (!session) return;
    session = null;
    token.clear();
    showSignIn('Your token is no longer accepted: sign in again.');
  });
  try {
    session = await api('GET', ['session']);
    session.open = !token.get();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showSignIn();
    replace(main, notice('error', error.message));
    return;
  }
  showSession();
  render();
}

function showSignIn(message) {
  pageLifetime.abort();
  replace(sessionBox);
  replace(breadcrumbs);
  signInPage(main, {
    message,
    async signIn(value) {
      token.set(value);
      try {
        session = await api('GET', ['session']);
        session.open = false;
      } catch (error) {
        token.clear();
        throw error.status === 401 ? new Error('That token is not accepted.') : error;
      }
      showSession();
      render();
    },
  });
}

function showSession() {
  const access = session.canChange ? 'full access' : 'read-only';
  replace(sessionBox,
    h('span', {}, session.open ? 'no token needed (loopback)' : `${access} · ${session.fingerprint}`),
    session.open ? null : h('button', { type: 'button', onclick: signOut }, 'Sign out'));
}

function signOut() {
  token.clear();
  session = null;
  showSignIn('Signed out.');
}

function render() {
  if (!session) return;
  pageLifetime.abort();
  pageLifetime = new AbortController();
  replace(breadcrumbs);
  const path = location.hash.replace(/^#/, '') || '/';
  for (const [pattern, page] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    let parameters;
    try { parameters = match.slice(1).map(decodeURIComponent); } catch { break; }
    const context = { session, signal: pageLifetime.signal, setBreadcrumbs, navigate };
    replace(main, h('p', { class: 'muted' }, 'Loading…'));
    page(main, context, ...parameters).catch((error) => {
      if (error.name === 'AbortError' || context.signal.aborted) return;
      replace(main, notice('error', error.message));
    });
    return;
  }
  replace(main, notice('error', `Nothing here: ${path}`), h('a', { href: '#/' }, 'Applications'));
}

/** `[['Applications', '#/'], ['app', '#/apps/app'], ['user.sent.message']]`. */
function setBreadcrumbs(items) {
  replace(breadcrumbs, items.flatMap(([text, href], index) => [
    index ? h('span', { 'aria-hidden': 'true' }, '/') : null,
    href ? h('a', { href }, text) : h('span', { 'aria-current': 'page' }, text),
  ]));
}

function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

window.addEventListener('hashchange', render);
start();
