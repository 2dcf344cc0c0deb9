#!/usr/bin/env node
// @ts-check
// `npm run tools`: builds, once, every tool the tests and the harness run that comes from the Go
// module proxy: k6 with our extensions (xk6), InfluxDB 1.8.10, compose-check, grpcurl,
// toxiproxy, Caddy, kubeconform and grpcwebproxy. Each is pinned in a go.mod under tools/ and
// cached outside the clone ($RTBENCH_CACHE_DIR, default ~/.cache/rtbench); a tool already cached
// (or one you have, for k6 and influxd) costs nothing. `npm test` runs this first, so the first
// run's builds show their progress here instead of inside a test's time limit.
import { parseArgs } from 'node:util';
import { ensureK6, goTool } from './k6.mjs';
import { influxdBin } from './influx.mjs';
import { TOXIPROXY_MODULE, TOXIPROXY_PKG } from './network.mjs';
import { CADDY_MODULE, CADDY_PKG } from './proxy.mjs';

/** @type {Array<{ name: string, build: (log: (s: string) => void) => Promise<string> }>} */
export const TOOLS = [
  { name: 'k6', build: (log) => ensureK6({ log }) },
  { name: 'influxd', build: (log) => influxdBin({ log }) },
  {
    name: 'compose-check',
    build: (log) => goTool('rtbench.test/tools/go/compose-check', { dir: 'tools/go/compose-check', log }),
  },
  { name: 'grpcurl', build: (log) => goTool('github.com/fullstorydev/grpcurl/cmd/grpcurl', { log }) },
  { name: 'toxiproxy', build: (log) => goTool(TOXIPROXY_PKG, { dir: TOXIPROXY_MODULE, log }) },
  { name: 'caddy', build: (log) => goTool(CADDY_PKG, { dir: CADDY_MODULE, log }) },
  {
    name: 'kubeconform',
    build: (log) => goTool('github.com/yannh/kubeconform/cmd/kubeconform', { dir: 'tools/go/kubeconform', log }),
  },
  {
    name: 'grpcwebproxy',
    build: (log) => goTool('github.com/improbable-eng/grpc-web/go/grpcwebproxy', { dir: 'tools/go/grpcwebproxy', log }),
  },
];

const HELP = `usage: node tools/toolchain.mjs [name …]

Builds (once, into the cache) the tools rtbench runs: ${TOOLS.map((t) => t.name).join(', ')}.
With names, only those. Prints each tool's path.`;

/** Builds the named tools (all by default) one after another, with progress. @param {string[]} [names] */
export async function buildTools(names = [], log = console.error) {
  const unknown = names.filter((n) => !TOOLS.some((t) => t.name === n));
  if (unknown.length)
    throw new Error(`unknown tool(s) ${unknown.join(', ')}; known: ${TOOLS.map((t) => t.name).join(', ')}`);
  const chosen = names.length ? TOOLS.filter((t) => names.includes(t.name)) : TOOLS;
  /** @type {Record<string, string>} */
  const paths = {};
  for (const [i, tool] of chosen.entries()) {
    const started = Date.now();
    paths[tool.name] = await tool.build(log);
    const secs = (Date.now() - started) / 1000;
    log(`[${i + 1}/${chosen.length}] ${tool.name}${secs >= 1 ? ` (${secs.toFixed(0)} s)` : ''}: ${paths[tool.name]}`);
  }
  return paths;
}

if (process.argv[1] && import.meta.url.endsWith('/tools/toolchain.mjs') && process.argv[1].endsWith('toolchain.mjs')) {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`toolchain: ${/** @type {Error} */ (err).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(HELP);
    process.exit(0);
  }
  buildTools(parsed.positionals).catch((err) => {
    console.error(`toolchain: ${err.message}`);
    process.exit(1);
  });
}
