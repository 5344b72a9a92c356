'use strict';
// chatfn worker harness: runs chat functions for one chatfn process, over a framed protocol on fd 3
// (requests in) and fd 4 (replies out). stdout and stderr are never used for the protocol, so nothing a
// function prints can corrupt it; console output is captured and attributed to the invocation that wrote
// it through AsyncLocalStorage, even with many invocations in flight.
//
// Frames (docs/worker-protocol.md): u32 BE length of the rest | u8 kind | …
//   in:  invoke: u32 BE header length | header (JSON) | event bytes
//   out: u16 BE id length | invocation id | kind-specific fields (binary, so chatfn decodes no JSON)

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const Module = require('module');
const { AsyncLocalStorage } = require('async_hooks');

const KIND = { invoke: 1, ping: 2, configure: 3, apiResponse: 4, ready: 10, log: 11, result: 12, emit: 13, pong: 14, apiRequest: 15 };
const LEVEL = { debug: 0, info: 1, warn: 2, error: 3 };
const STATUS = { succeeded: 0, failed: 1, invalid_event: 2, crashed: 3 };
const EMPTY = Buffer.alloc(0);

// chatfn's first frame sets these (WorkerLimits in Swift; chatfn checks them again on its side).
const config = {
  memoryMb: null,
  maxEmits: 1000,
  maxCommandBytes: 256 * 1024,
  maxEmitBytes: 1024 * 1024,
  maxCommandTypeBytes: 256,
  maxCommandKeyBytes: 1024,
  maxResultBytes: 1024 * 1024,
  maxErrorMessageBytes: 8 * 1024,
  maxStackBytes: 16 * 1024,
  maxLogLineBytes: 64 * 1024,
};

function truncate(text, maxBytes) {
  if (typeof text !== 'string' || Buffer.byteLength(text) <= maxBytes) return text;
  const bytes = Buffer.from(text);
  return `${bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '')}… [${bytes.length - maxBytes} more bytes]`;
}

const output = new net.Socket({ fd: 4, readable: false, writable: true });
const input = new net.Socket({ fd: 3, readable: true, writable: false });

// Frames written in one turn of the event loop leave in one writev, unless the turn runs long: a burst of
// CPU-bound invocations can hold the loop for seconds, and results held that long would look to chatfn
// like a blocked process (it watches for results after a timeout), so a batch older than FLUSH_AFTER_MS
// leaves with the frame that finds it so.
const FLUSH_AFTER_MS = 5;
let corked = false;
let corkedAt = 0;
function uncork() {
  if (!corked) return;
  corked = false;
  output.uncork();
}

function send(kind, invocationId, fields) {
  const id = invocationId ? Buffer.from(invocationId) : EMPTY;
  let length = 1 + 2 + id.length;
  for (const field of fields) length += field.length;
  const prefix = Buffer.allocUnsafe(7);
  prefix.writeUInt32BE(length, 0);
  prefix.writeUInt8(kind, 4);
  prefix.writeUInt16BE(id.length, 5);
  if (!corked) {
    corked = true;
    corkedAt = Date.now();
    output.cork();
    setImmediate(uncork);
  }
  output.write(prefix);
  if (id.length > 0) output.write(id);
  for (const field of fields) if (field.length > 0) output.write(field);
  if (Date.now() - corkedAt >= FLUSH_AFTER_MS) uncork();
}

function u8(value) {
  return Buffer.from([value]);
}

function u16Prefixed(text) {
  const bytes = Buffer.from(text);
  const length = Buffer.allocUnsafe(2);
  length.writeUInt16BE(bytes.length, 0);
  return Buffer.concat([length, bytes]);
}

function i32(value) {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeInt32BE(value, 0);
  return bytes;
}

function u32(value) {
  const bytes = Buffer.allocUnsafe(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

function sendResult(id, status, error, value = EMPTY) {
  if (error) {
    if (error.name) error.name = truncate(maskSecrets(String(error.name)), config.maxErrorMessageBytes);
    error.message = truncate(maskSecrets(String(error.message)), config.maxErrorMessageBytes);
    if (error.stack) error.stack = truncate(maskSecrets(String(error.stack)), config.maxStackBytes);
    if (error.userMessage) error.userMessage = truncate(maskSecrets(String(error.userMessage)), config.maxErrorMessageBytes);
  }
  const errorJSON = error ? Buffer.from(JSON.stringify(error)) : EMPTY;
  send(KIND.result, id, [u8(STATUS[status]), u32(errorJSON.length), errorJSON, value]);
}

// ---- logs, attributed to the invocation whose async context wrote them ----
const invocationScope = new AsyncLocalStorage();

// The application's secrets (configure frame): `context.secrets`, and masked wherever a log line would
// carry one of their values, so that a secret printed by mistake does not reach invocation records.
let secrets = Object.freeze({});
let secretValues = [];
function setSecrets(values) {
  secrets = Object.freeze({ ...values });
  secretValues = Object.entries(values).filter(([, value]) => typeof value === 'string' && value.length >= 4)
    .sort((a, b) => b[1].length - a[1].length);
}
function maskSecrets(text) {
  for (const [name, value] of secretValues) {
    if (text.includes(value)) text = text.split(value).join(`[secret ${name}]`);
  }
  return text;
}

function emitLog(level, text, invocationId) {
  const id = invocationId ?? invocationScope.getStore()?.id ?? null;
  send(KIND.log, id, [u8(LEVEL[level]), Buffer.from(truncate(maskSecrets(text), config.maxLogLineBytes))]);
}

const consoleLevels = { log: 'info', info: 'info', warn: 'warn', error: 'error', debug: 'debug', trace: 'debug' };
for (const [method, level] of Object.entries(consoleLevels)) {
  console[method] = (...args) => emitLog(level, util.format(...args));
}
for (const [stream, level] of [[process.stdout, 'info'], [process.stderr, 'error']]) {
  stream.write = (chunk, encoding, callback) => {
    emitLog(level, Buffer.isBuffer(chunk) ? chunk.toString('utf8').replace(/\n$/, '') : String(chunk).replace(/\n$/, ''));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  };
}

function makeLogger(invocationId) {
  const log = (...args) => emitLog('info', util.format(...args), invocationId);
  log.info = log;
  log.debug = (...args) => emitLog('debug', util.format(...args), invocationId);
  log.warn = (...args) => emitLog('warn', util.format(...args), invocationId);
  log.error = (...args) => emitLog('error', util.format(...args), invocationId);
  return log;
}

process.on('unhandledRejection', (reason) => {
  emitLog('error', `unhandled promise rejection: ${reason instanceof Error ? reason.stack : util.inspect(reason)}`);
});
process.on('uncaughtException', (error) => {
  emitLog('error', `uncaught exception: ${error instanceof Error ? error.stack : util.inspect(error)}`);
});

// ---- loading functions ----
// ChatKitty-style functions declare a top-level `async function handleEvent(event, context)` without
// exporting it; the appended line (after the user's last line, so line numbers stay true) exports it.
const EXPORT_TOP_LEVEL_HANDLER =
  '\n;if (typeof handleEvent === "function" && typeof module.exports !== "function" && !module.exports.handleEvent) module.exports.handleEvent = handleEvent;\n';

const loaded = new Map(); // trigger -> { version, handler }

function compileModule(file, suffix = '') {
  const source = fs.readFileSync(file, 'utf8');
  const compiled = new Module(file, module);
  compiled.filename = file;
  compiled.paths = Module._nodeModulePaths(path.dirname(file));
  compiled._compile(source + suffix, file);
  return compiled.exports;
}

// Keyed by trigger (and the init script by runtime), not by path: a redeploy that moves the files
// (a new snapshot) but keeps a version reuses what is loaded, and a new version replaces the old entry.
function loadFunction(trigger, file, version) {
  const cached = loaded.get(trigger);
  if (cached && cached.version === version) return cached.handler;
  const exported = compileModule(file, EXPORT_TOP_LEVEL_HANDLER);
  const handler = typeof exported === 'function' ? exported : exported.handleEvent ?? exported.default;
  if (typeof handler !== 'function') {
    throw new Error(`${file} defines no handleEvent(event, context): declare it, or export it with module.exports`);
  }
  loaded.set(trigger, { version, handler });
  return handler;
}

// ---- commands for the chat platform ----
// Sent as they are made; chatfn publishes them only if the invocation succeeds.
function makeEmitter(invocationId, allowed) {
  let count = 0;
  let bytes = 0;
  return (type, data, options = {}) => {
    if (!allowed) {
      throw new Error('context.emit is not available in blocking functions: return a decision instead (docs/protocol.md)');
    }
    if (typeof type !== 'string' || type.length === 0) {
      throw new TypeError('context.emit(type, data, { key }): type must be a non-empty string');
    }
    if (options.key !== undefined && options.key !== null && typeof options.key !== 'string') {
      throw new TypeError('context.emit(type, data, { key }): key must be a string');
    }
    if (Buffer.byteLength(type) > config.maxCommandTypeBytes || Buffer.byteLength(options.key ?? '') > config.maxCommandKeyBytes) {
      throw new RangeError(`context.emit: a command's type is limited to ${config.maxCommandTypeBytes} bytes and its key to ${config.maxCommandKeyBytes}`);
    }
    if (count >= config.maxEmits) throw new Error(`context.emit: at most ${config.maxEmits} commands per invocation`);
    const body = data === undefined ? EMPTY : Buffer.from(JSON.stringify(data));
    if (body.length > config.maxCommandBytes) {
      throw new RangeError(`context.emit: a command's data is ${body.length} bytes, above the limit of ${config.maxCommandBytes}`);
    }
    if (bytes + body.length > config.maxEmitBytes) {
      throw new RangeError(`context.emit: commands of one invocation are limited to ${config.maxEmitBytes} bytes together`);
    }
    count += 1;
    bytes += body.length;
    const key = options.key ?? null;
    const keyField = key === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(key)), Buffer.from(key)]);
    send(KIND.emit, invocationId, [u16Prefixed(type), keyField, body]);
  };
}

// ---- context.api: the chat platform's HTTP API ----
// chatfn makes the requests itself, with the platform token, which never enters this process: a request
// goes out as an apiRequest frame and its answer comes back as an apiResponse frame.
const apiCalls = new Map(); // request number -> { resolve }
let nextApiCall = 0;

function platformRequest(method, requestPath, body) {
  const invocationId = invocationScope.getStore()?.id;
  if (!invocationId) return Promise.reject(new Error('context.api: only while the invocation runs'));
  if (typeof requestPath !== 'string') return Promise.reject(new TypeError('context.api: the path must be a string'));
  const json = body === undefined ? EMPTY : Buffer.from(JSON.stringify(body));
  nextApiCall += 1;
  const request = nextApiCall;
  const methodBytes = Buffer.from(method);
  const pathBytes = Buffer.from(requestPath);
  const pathLength = Buffer.allocUnsafe(2);
  pathLength.writeUInt16BE(Math.min(pathBytes.length, 65535), 0);
  return new Promise((resolve, reject) => {
    apiCalls.set(request, { resolve, reject });
    send(KIND.apiRequest, invocationId, [u32(request), u8(methodBytes.length), methodBytes, pathLength, pathBytes.subarray(0, 65535), json]);
  }).then(({ header, text }) => {
    if (header.error) {
      throw Object.assign(new (header.invalid ? TypeError : Error)(`context.api: ${header.error}`), { status: header.status ?? undefined });
    }
    if (header.status >= 200 && header.status < 300) return text.length === 0 ? null : JSON.parse(text);
    const retried = header.attempts > 1 ? ` after ${header.attempts} attempts` : '';
    throw Object.assign(new Error(`context.api: ${method} ${header.pathname} answered ${header.status}${retried}: ${text.slice(0, 500)}`), { status: header.status });
  });
}

function apiResponded(header, body) {
  const call = apiCalls.get(header.request);
  if (!call) return;
  apiCalls.delete(header.request);
  call.resolve({ header, text: body.toString('utf8') });
}

const api = Object.freeze({
  get: (requestPath) => platformRequest('GET', requestPath),
  post: (requestPath, body) => platformRequest('POST', requestPath, body),
  put: (requestPath, body) => platformRequest('PUT', requestPath, body),
  patch: (requestPath, body) => platformRequest('PATCH', requestPath, body),
  delete: (requestPath, body) => platformRequest('DELETE', requestPath, body),
});

// ---- the runtime's initialization script ----
// Runs once per process and version, before the first invocation that needs it; what it exports (or
// the value its exported promise resolves to) is context.init. A failure is kept, not retried: every
// invocation of that version reports it, and the process does not crash-loop.
const inits = new Map(); // file -> { version, promise }

function runInit(file, version) {
  if (!file) return Promise.resolve(undefined);
  const cached = inits.get('init');
  if (cached && cached.version === version) return cached.promise;
  const promise = (async () => {
    try {
      return await compileModule(file);
    } catch (error) {
      const failure = new Error(`the initialization script ${path.basename(file)} failed: ${error && error.message}`);
      failure.name = 'InitScriptError';
      failure.stack = `${failure.name}: ${failure.message}\n${error && error.stack ? error.stack : ''}`;
      throw failure;
    }
  })();
  promise.catch(() => {}); // reported by the invocations that await it
  inits.set('init', { version, promise });
  return promise;
}

// ---- invocations ----
let inFlight = 0;
let inputEnded = false;

function decodeEvent(header, body) {
  const text = body.toString('utf8');
  let parsed;
  try {
    parsed = text.length === 0 ? null : JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`event data is not valid JSON: ${error.message}`), { invalidEvent: true });
  }
  if (header.mode !== 'structured') return parsed;
  if (parsed === null || typeof parsed !== 'object') {
    throw Object.assign(new Error('structured CloudEvent is not a JSON object'), { invalidEvent: true });
  }
  if (parsed.data_base64 !== undefined) {
    const raw = Buffer.from(parsed.data_base64, 'base64').toString('utf8');
    try {
      return JSON.parse(raw);
    } catch (error) {
      throw Object.assign(new Error(`data_base64 is not JSON: ${error.message}`), { invalidEvent: true });
    }
  }
  return parsed.data ?? null;
}

// context.deny(reason, userMessage) throws this: a deliberate denial, reported apart from failures.
class DenyError extends Error {
  constructor(reason, userMessage) {
    super(reason ?? 'denied');
    this.name = 'DenyError';
    this.userMessage = userMessage ?? null;
  }
}

// A failed allocation past the process's memory limit (memoryMb bounds its whole data segment).
function isMemoryLimit(error) {
  return config.memoryMb !== null && error instanceof RangeError && /allocation failed|Array buffer allocation|Invalid array length|out of memory/i.test(error.message);
}

// A stack as its author needs it: the message and the function's own frames, without the harness's or
// Node's internals (V8's columns are 1-based, as chatfn's everywhere).
function userStack(stack) {
  if (!stack) return stack;
  return String(stack).split('\n')
    .filter((line) => !/^\s+at /.test(line) || !(line.includes(__filename) || /\(?node:(internal|async_hooks)/.test(line)))
    .join('\n');
}

function describeError(error) {
  if (error instanceof DenyError) return { name: error.name, message: error.message, userMessage: error.userMessage };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: userStack(error.stack) };
  return { name: 'Error', message: typeof error === 'string' ? error : util.inspect(error) };
}

// Counted in flight from its frame's arrival (the 'data' handler), so that the end of input waits for
// invocations queued for their turn too.
async function invoke(header, body) {
  const id = header.id;
  await invocationScope.run({ id }, async () => {
    try {
      const event = decodeEvent(header, body);
      let handler;
      try {
        handler = loadFunction(header.trigger, header.file, header.version);
      } catch (error) {
        // The function could not be loaded (syntax error, missing module, no handleEvent): not a decision
        // of the function's, which blocking triggers answer with their fallback.
        throw Object.assign(error instanceof Error ? error : new Error(String(error)), { name: 'FunctionLoadError' });
      }
      const init = await runInit(header.init, header.initVersion);
      const context = {
        init,
        env: process.env,
        secrets,
        api,
        invocationId: id,
        eventId: header.eventId,
        trigger: header.trigger,
        appId: header.appId,
        source: header.source,
        time: header.time ?? null,
        attempt: header.attempt,
        traceparent: header.traceparent ?? null,
        deadline: header.deadline,
        log: makeLogger(id),
        emit: makeEmitter(id, header.emit !== false),
        deny: (reason, userMessage) => {
          throw new DenyError(reason, userMessage);
        },
      };
      const value = await handler(event, context);
      const json = value === undefined ? EMPTY : Buffer.from(JSON.stringify(value) ?? 'null');
      if (json.length > config.maxResultBytes) {
        throw new RangeError(`the function returned ${json.length} bytes of JSON, above the limit of ${config.maxResultBytes}`);
      }
      sendResult(id, 'succeeded', null, json);
    } catch (error) {
      if (isMemoryLimit(error)) {
        sendResult(id, 'crashed', { name: 'MemoryLimitError', message: `the function went over its memory limit (memoryMb: ${config.memoryMb} MiB): ${error.message}` });
      } else {
        sendResult(id, error && error.invalidEvent ? 'invalid_event' : 'failed', describeError(error));
      }
    }
  });
  inFlight -= 1;
  if (inputEnded && inFlight === 0) exitWhenFlushed();
}

// ---- the request stream ----
let pending = EMPTY;

input.on('data', (chunk) => {
  pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
  while (pending.length >= 4) {
    const length = pending.readUInt32BE(0);
    if (pending.length < 4 + length) break;
    const kind = pending.readUInt8(4);
    const headerLength = pending.readUInt32BE(5);
    const header = JSON.parse(pending.subarray(9, 9 + headerLength).toString('utf8'));
    const body = pending.subarray(9 + headerLength, 4 + length);
    pending = pending.subarray(4 + length);
    // Each invocation starts in its own turn (setImmediate keeps arrival order), so that the results of
    // the ones before it leave while a burst of CPU-bound ones runs, instead of all after the last.
    if (kind === KIND.invoke) {
      inFlight += 1;
      setImmediate(invoke, header, Buffer.from(body));
    }
    else if (kind === KIND.ping) send(KIND.pong, header.id, []);
    else if (kind === KIND.configure) {
      const { secrets: values, ...limits } = header;
      Object.assign(config, limits);
      if (values) setSecrets(values);
    }
    else if (kind === KIND.apiResponse) apiResponded(header, Buffer.from(body));
  }
});

input.on('end', () => {
  inputEnded = true;
  if (inFlight === 0) exitWhenFlushed();
});

let exiting = false;
function exitWhenFlushed() {
  if (exiting) return;
  exiting = true;
  output.end(() => process.exit(0));
}

send(KIND.ready, null, [Buffer.from(JSON.stringify({ pid: process.pid, node: process.version }))]);
