// Pages that keep themselves up to date.

/** Runs `task` now and then every `milliseconds` after it ends, until the page goes away. */
export function every(signal, milliseconds, task) {
  let timer = null;
  const run = async () => {
    if (signal.aborted) return;
    try { await task(); } catch (error) { if (signal.aborted || error.name === 'AbortError') return; }
    if (!signal.aborted) timer = setTimeout(run, milliseconds);
  };
  signal.addEventListener('abort', () => clearTimeout(timer));
  run();
}
