// The network shape's toxics for toxiproxy on Kubernetes (`npm run k8s -- … --network SHAPE`): the
// sidecar beside toxiproxy in the rtbench-network pod runs this file from a ConfigMap with the
// servers image's Node. toxiproxy's -config file creates the proxies; toxics can only be added
// through its HTTP API, so this waits for the API, adds every toxic of TOXICS (a JSON file
// { "<proxy>": [toxic, …] }), marks the container ready (READY_FILE), then checks every CHECK_MS
// (10 s) and adds back whatever a restarted toxiproxy lost. No dependencies: Node 20's fetch only.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const api = process.env.TOXIPROXY_URL ?? 'http://127.0.0.1:8474';
const wanted = JSON.parse(readFileSync(process.env.TOXICS ?? '/etc/rtbench-network/toxics.json', 'utf8'));
const readyFile = process.env.READY_FILE ?? '/tmp/toxics-applied';
const checkMs = Number(process.env.CHECK_MS ?? 10_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${res.status} ${text.trim()}`);
  return text ? JSON.parse(text) : null;
}

/** Adds the toxics a proxy lacks; returns how many it added. */
async function apply() {
  let added = 0;
  for (const [proxy, toxics] of Object.entries(wanted)) {
    const path = `/proxies/${encodeURIComponent(proxy)}/toxics`;
    const have = new Set((await call('GET', path)).map((t) => t.name));
    for (const t of toxics)
      if (!have.has(t.name)) {
        await call('POST', path, t);
        added++;
      }
  }
  return added;
}

rmSync(readyFile, { force: true });
for (let ready = false; ; await sleep(ready ? checkMs : 500)) {
  try {
    const added = await apply();
    if (added) console.log(`added ${added} toxic(s) to ${Object.keys(wanted).join(', ')}`);
    if (!ready) writeFileSync(readyFile, new Date().toISOString());
    ready = true;
  } catch (err) {
    // toxiproxy not up yet (or restarting): not ready until every toxic is in place again
    if (ready) console.error(`${err.message}; retrying`);
    rmSync(readyFile, { force: true });
    ready = false;
  }
}
