// The API of the same origin. The token lives in this tab's session storage and leaves only as the
// Authorization header: never in a URL, a cookie or a log.

const TOKEN_KEY = 'chatfn.apiToken';

export class ApiError extends Error {
  constructor(status, message, line, column) {
    super(message);
    this.status = status;
    this.line = line;
    this.column = column;
  }

  /** "line 3, column 7: …" for a compile error. */
  describe() {
    return this.line ? `line ${this.line}, column ${this.column ?? 1}: ${this.message}` : this.message;
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Called with every 401, so the page can ask for a token again. */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

/** `api('GET', ['applications', app, 'functions'])`: path segments are encoded one by one. */
export async function api(method, segments, { body, query, signal } = {}) {
  let url = '/v1/' + segments.map(encodeURIComponent).join('/');
  if (query) {
    const parameters = new URLSearchParams(Object.entries(query).filter(([, value]) => value !== undefined && value !== ''));
    if ([...parameters].length) url += '?' + parameters;
  }
  const headers = { accept: 'application/json' };
  const bearer = token.get();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store', redirect: 'error',
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, `chatfn cannot be reached: ${error.message}`);
  }
  const text = await response.text();
  let value = null;
  if (text) {
    try { value = JSON.parse(text); } catch { value = { error: text }; }
  }
  if (!response.ok) {
    if (response.status === 401) onUnauthorized();
    throw new ApiError(response.status, value?.error ?? `${response.status} ${response.statusText}`, value?.line, value?.column);
  }
  return value;
}
