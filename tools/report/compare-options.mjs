// @ts-check
// The command line of `npm run compare` (node:util parseArgs), apart from tools/compare.mjs so
// that tests check it without running it.
import { parseArgs } from 'node:util';
import { FIGURES } from './verdicts.mjs';

export const USAGE = `usage: npm run compare -- <results A> <results B> [options]

Compares two folders written by npm start (e.g. another server version, network shape or
machine): for every entry in both and every headline figure, A's and B's median over runs with
the min–max spread, and the change. A change counts only when the spreads do not overlap; a
regression is B clearly worse by more than the margin. Exit code: 0 no regression, 1 a
regression, 2 a usage error.

  --margin PCT     how much worse B may be before it is a regression (default 10, i.e. 10%)
  --figures A,B    judge only these figures (default all: ${FIGURES.map((f) => f.key).join(',')})
  --html FILE      where to write the HTML (default <B>/compare.html)
  -h, --help       this text`;

/** @param {string[]} argv */
export function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        margin: { type: 'string', default: '10' },
        figures: { type: 'string' },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    const unknown = /Unknown option '([^']+)'/.exec(/** @type {Error} */ (err).message);
    throw new Error(unknown ? `unknown option '${unknown[1]}'` : /** @type {Error} */ (err).message.split('\n')[0]);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { help: true, dirA: '', dirB: '', margin: 0, figures: undefined, html: undefined };
  if (positionals.length !== 2)
    throw new Error(
      `expected two results folders, got ${positionals.length}${positionals.length ? ` (${positionals.join(' ')})` : ''}`,
    );
  const margin = Number(v.margin);
  if (!/^\d+(\.\d+)?$/.test(String(v.margin)) || margin > 1000)
    throw new Error(`--margin '${v.margin}': expected a percentage from 0 to 1000`);
  const keys = FIGURES.map((f) => f.key);
  const figures = v.figures
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const f of figures ?? [])
    if (!keys.includes(/** @type {any} */ (f)))
      throw new Error(`--figures: unknown figure '${f}' (one of ${keys.join(', ')})`);
  return { help: false, dirA: positionals[0], dirB: positionals[1], margin: margin / 100, figures, html: v.html };
}
