// The browser test page (browser/page.ts, bundled by build.mjs into dist/browser/) served at
// /browser/ on the shared HTTP host, same origin as every endpoint it measures: GET /browser/,
// /browser/page.js (and its source map). Read once at start; nothing else under /browser/ exists.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpHost } from './lib/http.ts';

export const PAGE_PATH = '/browser/';

const FILES: Record<string, string> = {
  '': 'text/html; charset=utf-8',
  'index.html': 'text/html; charset=utf-8',
  'page.js': 'text/javascript; charset=utf-8',
  'page.js.map': 'application/json',
};

/** Mounts the page when it was built (dist/browser next to dist/servers); returns its path, or null. */
export function mountPage(host: HttpHost): string | null {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'browser');
  if (!existsSync(join(dir, 'page.js'))) return null;
  const bodies = new Map<string, Buffer>();
  for (const name of Object.keys(FILES)) if (name) bodies.set(name, readFileSync(join(dir, name)));
  bodies.set('', bodies.get('index.html')!);
  for (const [name, type] of Object.entries(FILES)) {
    // Static files, served without the token (the page takes it as ?token= and passes it on to
    // every endpoint it measures, which all check it).
    host.route(
      'GET',
      PAGE_PATH + name,
      (_req, res) => {
        const body = bodies.get(name)!;
        res.writeHead(200, { 'content-type': type, 'content-length': body.length, 'cache-control': 'no-store' });
        res.end(body);
      },
      { open: true },
    );
  }
  host.route(
    'GET',
    '/browser',
    (_req, res) => {
      res.writeHead(301, { location: PAGE_PATH });
      res.end();
    },
    { open: true },
  );
  return PAGE_PATH;
}
