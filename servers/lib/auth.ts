// Optional protection for shared machines: a bearer token checked on every surface, and an
// Origin allow-list for what a browser can reach. Requests without an Origin header (k6, curl,
// grpc) are not browsers and pass the Origin check; a browser page on a loopback origin passes
// too, anything else needs --allow-origin.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface Access {
  /** '' = no token required. */
  token: string;
  allowOrigins: string[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** True when `presented` is the token (constant time), or no token is required. */
export function tokenMatches(access: Access, presented: string | null | undefined): boolean {
  if (access.token === '') return true;
  if (typeof presented !== 'string') return false;
  return timingSafeEqual(digest(presented), digest(access.token));
}

/** The token from `Authorization: Bearer <t>`, else from the `token` query parameter (WebSocket and EventSource clients cannot always set headers). */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return m ? m[1]! : null;
  }
  return url.searchParams.get('token');
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Why this request's Origin is refused, or null when it may proceed. */
export function originProblem(access: Access, origin: string | undefined): string | null {
  if (origin === undefined) return null;
  if (access.allowOrigins.includes('*') || access.allowOrigins.includes(origin)) return null;
  try {
    const u = new URL(origin);
    if ((u.protocol === 'http:' || u.protocol === 'https:') && LOOPBACK_HOSTS.has(u.hostname)) return null;
  } catch {
    // not a URL: refused below
  }
  return `origin ${JSON.stringify(origin.slice(0, 80))} is not allowed (see --allow-origin)`;
}

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
