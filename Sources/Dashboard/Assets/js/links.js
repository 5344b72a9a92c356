// Addresses of pages, and what every page of an application shows at its top.
import { h } from './dom.js';

/** `#/apps/my%20app/functions/user.sent.message` from `appHref('my app', 'functions', 'user.sent.message')`. */
export function appHref(app, ...segments) {
  return '#/' + ['apps', app, ...segments].map(encodeURIComponent).join('/');
}

const TABS = [['Functions', []], ['Runtime', ['runtime']], ['Secrets', ['secrets']], ['Invocations', ['invocations']], ['Dead letters', ['dead-letters']]];

/** The application's tabs, `current` marked as the page shown. */
export function appTabs(app, current) {
  return h('nav', { class: 'tabs', 'aria-label': `${app} sections` },
    TABS.map(([name, segments]) => h('a', { href: appHref(app, ...segments), 'aria-current': name === current ? 'page' : null }, name)));
}

/** The header of an application's page: breadcrumbs, title and tabs. */
export function appHeader(context, app, tab, ...trail) {
  context.setBreadcrumbs([['Applications', '#/'], [app, trail.length || tab !== 'Functions' ? appHref(app) : null], ...trail]);
  return [h('h1', {}, app), appTabs(app, tab)];
}
