// Building the page from data. Every piece of user content goes in as text (textContent, attribute
// values): nothing here parses HTML, so a function's output or name can never become markup.

/** `h('button', {class: 'primary', onclick: f, 'aria-label': 'Save'}, 'Save')`. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (name === 'value') element.value = value;
    else if (name === 'checked' || name === 'disabled' || name === 'readOnly' || name === 'hidden') element[name] = Boolean(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** Epoch milliseconds as `2026-11-26 09:12:44` (UTC). */
export function formatTime(ms) {
  if (typeof ms !== 'number') return '';
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** A duration in milliseconds, to a precision a person reads: `0.84 ms`, `12.3 ms`, `1530 ms`. */
export function formatDuration(ms) {
  if (typeof ms !== 'number') return '';
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** A message for the user: `kind` is `error` (announced at once) or `ok`. */
export function notice(kind, ...text) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...text);
}

/** "blocking" or "non-blocking", as a badge. */
export function kindBadge(blocking) {
  return h('span', { class: `badge${blocking ? ' blocking' : ''}` }, blocking ? 'blocking' : 'non-blocking');
}

/** What a function threw, as the API reports it (`{name, message, stack}`), as text. */
export function errorText(error) {
  return error ? `${error.name ?? 'Error'}: ${error.message ?? ''}\n${error.stack ?? ''}` : '';
}

/** Now, as `09:12:44` UTC. */
export function clockTime() {
  return new Date().toISOString().slice(11, 19);
}

/** A status word with its color. */
export function statusBadge(status) {
  return h('span', { class: `badge status-${status}` }, status);
}

/** A labelled input: `field('Application name', {name: 'app'})`. */
export function field(label, props = {}) {
  const input = h('input', props);
  return { label: h('label', {}, label, input), input };
}
