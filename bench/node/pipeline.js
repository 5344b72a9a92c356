'use strict';
// The bare Node pipeline: chatfn's worker harness fed invocations of the trivial function by this
// script over the same pipes chatfn uses, with no chatfn, no Kafka. The rate it reaches is the limit the
// Node side puts on the lane (ChatfnBench prints it beside the lane's rate).
//
// usage: node pipeline.js HARNESS FUNCTION_FILE [--workers N] [--invocations N] [--in-flight N]

const { spawn } = require('child_process');

const [harness, functionFile, ...rest] = process.argv.slice(2);
const option = (name, value) => {
  const index = rest.indexOf(name);
  return index >= 0 ? Number(rest[index + 1]) : value;
};
const workers = option('--workers', 2);
const total = option('--invocations', 200000);
const inFlightPerWorker = option('--in-flight', 64);
const payload = Buffer.from(JSON.stringify({ t: 0, n: 1, user: { name: 'ada' } }));

function frame(kind, header, body = Buffer.alloc(0)) {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(9);
  prefix.writeUInt32BE(1 + 4 + json.length + body.length, 0);
  prefix.writeUInt8(kind, 4);
  prefix.writeUInt32BE(json.length, 5);
  return Buffer.concat([prefix, json, body]);
}

let sent = 0;
let done = 0;
let started;

function startWorker() {
  const child = spawn(process.execPath, [harness], { stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe'] });
  const requests = child.stdio[3];
  const replies = child.stdio[4];
  let pending = Buffer.alloc(0);
  let inFlight = 0;
  const worker = { child, ready: false };

  function fill() {
    const frames = [];
    while (inFlight < inFlightPerWorker && sent < total) {
      const id = `i${sent}`;
      frames.push(frame(1, {
        id, file: functionFile, version: 'v1', trigger: 'bench.trivial', eventId: `e${sent}`, appId: 'default',
        source: 'bench', time: null, attempt: 1, deadline: Date.now() + 60000, mode: 'binary', init: null, initVersion: null,
      }, payload));
      sent += 1;
      inFlight += 1;
    }
    if (frames.length > 0) requests.write(Buffer.concat(frames));
  }

  requests.write(frame(3, {}));
  replies.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      const kind = pending.readUInt8(4);
      pending = pending.subarray(4 + length);
      if (kind === 10) {
        worker.ready = true;
        if (!started) started = process.hrtime.bigint();
      } else if (kind === 12) {
        inFlight -= 1;
        done += 1;
        if (done === total) finish();
      }
    }
    if (worker.ready) fill();
  });
  return worker;
}

const all = Array.from({ length: workers }, startWorker);

function finish() {
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ invocations: total, workers, seconds, perSecond: Math.round(total / seconds) }));
  for (const worker of all) worker.child.kill();
  process.exit(0);
}
