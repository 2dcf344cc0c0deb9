// @ts-check
// Where the optional browser checks find Chromium (Debian's `chromium`, an optional extra).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** The Chromium the browser tier drives: $CHROMIUM_BIN, else Debian's or a PATH one; null if none. */
export function chromium() {
  if (process.env.CHROMIUM_BIN) return existsSync(process.env.CHROMIUM_BIN) ? process.env.CHROMIUM_BIN : null;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) return found;
  }
  return null;
}
