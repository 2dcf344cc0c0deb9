// The servers' optional token (`npm run servers -- --token …`), passed to every scenario with
// `-e TOKEN=…`: as `Authorization: Bearer` on HTTP requests, WebSocket upgrades (WebSocket,
// Socket.IO, gRPC over WebSocket) and gRPC calls (metadata), and as a `token` query parameter on
// SSE URLs (as a browser EventSource would carry it). Without TOKEN nothing is added.
import { envString } from '../load/env.ts';

export const TOKEN = envString('TOKEN', '');

/** `url` with `token=` added to its query when a token is set. */
export function withToken(url: string): string {
  if (TOKEN === '') return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(TOKEN)}`;
}

/** HTTP headers carrying the token (none without one). */
export function authHeaders(): Record<string, string> {
  return TOKEN === '' ? {} : { authorization: `Bearer ${TOKEN}` };
}

/** gRPC call params carrying the token as metadata (nothing without one). */
export function grpcAuth(): { metadata?: Record<string, string> } {
  return TOKEN === '' ? {} : { metadata: authHeaders() };
}
