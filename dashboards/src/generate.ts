// `npm run dashboards`: writes dashboards/*.json from the TypeScript beside this file. The JSON
// is committed (Grafana provisions it as it is); test/dashboards.test.ts fails when it is stale.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../tools/paths.mjs';
import { dashboardFiles } from './index.ts';

for (const [file, text] of Object.entries(dashboardFiles())) {
  const path = join(root, 'dashboards', file);
  const changed = !existsSync(path) || readFileSync(path, 'utf8') !== text;
  if (changed) writeFileSync(path, text);
  console.log(`${changed ? 'wrote    ' : 'unchanged'} dashboards/${file}`);
}
