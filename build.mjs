// @ts-check
// Builds everything rtbench runs:
//   scripts/*.ts      → dist/<name>.js          k6 scenarios (ESM, k6 modules external)
//   servers/*.ts      → dist/servers/<name>.js   Node servers
//   test/<tier>/*.test.ts → dist/test/<tier>/<name>.js  node:test suites (tiers: unit, servers, e2e, browser, nginx)
//   dashboards/src/generate.ts → dist/dashboards/src/generate.js   `npm run dashboards`
//   tools/png.mjs     → dist/assets/image-533k.png  the deterministic test image
//   browser/page.ts + index.html → dist/browser/   the browser test page the servers serve at /browser/
// Type errors are caught by `npm run typecheck` (tsc), which `npm test` runs; esbuild only strips types.
import * as esbuild from 'esbuild';
import { mkdirSync, readdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTestImage } from './tools/png.mjs';
import { protoJson } from './tools/proto-json.mjs';

const root = dirname(fileURLToPath(import.meta.url));
const quiet = process.argv.includes('--quiet');
const out = join(root, 'dist');

/** @param {string} dir @param {(f: string) => boolean} keep */
const entries = (dir, keep) =>
  existsSync(join(root, dir))
    ? readdirSync(join(root, dir))
        .filter(keep)
        .map((f) => join(root, dir, f))
    : [];

const scenarios = entries('scripts', (f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const servers = [join(root, 'servers', 'main.ts')];
const tools = [join(root, 'dashboards', 'src', 'generate.ts')]; // `npm run dashboards`
const TEST_TIERS = ['unit', 'servers', 'e2e', 'browser', 'nginx'];
const tests = TEST_TIERS.flatMap((tier) => entries(join('test', tier), (f) => f.endsWith('.test.ts')));
const fixtures = entries(join('test', 'fixtures'), (f) => f.endsWith('.ts')); // suites the tests run as children

/** @type {import('esbuild').BuildOptions} */
const common = { bundle: true, sourcemap: 'linked', minify: false, logLevel: 'warning', charset: 'utf8' };

const started = Date.now();
await Promise.all([
  esbuild.build({
    ...common,
    entryPoints: scenarios,
    plugins: [protoJson(join(root, 'proto'))], // protoJson: `import protos from 'rtbench:protos'`
    outdir: out,
    format: 'esm',
    platform: 'neutral',
    target: 'es2020',
    mainFields: ['module', 'main'],
    // k6 provides these at run time; everything else (our lib, npm libraries) is bundled in.
    external: ['k6', 'k6/*'],
  }),
  esbuild.build({
    ...common,
    entryPoints: [...servers, ...tools, ...tests, ...fixtures],
    outdir: out,
    outbase: root,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
  }),
  // The browser page: everything bundled (socket.io-client, @improbable-eng/grpc-web, protobufjs), no CDN.
  esbuild.build({
    ...common,
    entryPoints: [join(root, 'browser', 'page.ts')],
    plugins: [protoJson(join(root, 'proto'))],
    outdir: join(out, 'browser'),
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
  }),
]);
writeFileSync(join(out, 'browser', 'index.html'), readFileSync(join(root, 'browser', 'index.html')));

// The image is generated, not checked in: same bytes everywhere, nothing binary in git.
mkdirSync(join(out, 'assets'), { recursive: true });
const imagePath = join(out, 'assets', 'image-533k.png');
const image = makeTestImage();
if (!existsSync(imagePath) || !readFileSync(imagePath).equals(image)) writeFileSync(imagePath, image);

if (!quiet) {
  const names = scenarios.map((f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.ts$/, '.js'));
  console.log(
    `built ${names.length} scenarios (${names.join(', ')}), ${servers.length} servers, ${tests.length} test files in ${Date.now() - started} ms → dist/`,
  );
}
