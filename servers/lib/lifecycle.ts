// Graceful shutdown: the first SIGTERM/SIGINT stops every server (WebSockets closed 1001, SSE
// streams ended, gRPC streams ended UNAVAILABLE, each part cutting whatever is left after its own
// grace). A stop that still takes longer than `graceMs` is cut short; either way the process
// exits 0, since the shutdown was asked for. A second signal exits at once with 130.

export function stopOnSignals(stop: () => Promise<void>, graceMs = 5000, log = console.error): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    log(`${signal}: shutting down`);
    const force = setTimeout(() => {
      log(`shutdown took longer than ${graceMs} ms: cutting the rest`);
      process.exit(0);
    }, graceMs);
    force.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
