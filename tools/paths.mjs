// @ts-check
// Where things are: the repo root and the build output, for every tool and test helper.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root: the folder holding tools/go.mod, found upwards (this file may be bundled into dist/). */
function findRoot() {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'tools', 'go.mod'))) return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the rtbench repo root (tools/go.mod)');
  }
}

export const root = findRoot();

/** What build.mjs writes: bundled scenarios, servers, tests and assets. */
export const dist = join(root, 'dist');
