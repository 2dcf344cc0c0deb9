// Where the servers are: one -e variable per protocol, each with a loopback default, read once
// here so the same script runs locally, in compose and on k6-operator.
import { envString } from '../load/env.ts';

/** ws:// origin of the WebSocket endpoints (/echo, /image, /feed, /grpc-ws). */
export const WS_URL = envString('WS_URL', 'ws://127.0.0.1:8080');
/** The SSE stream's URL (its origin also serves the feed's control routes). */
export const SSE_URL = envString('SSE_URL', 'http://127.0.0.1:8080/sse');
/** The Socket.IO server's origin, as the official client takes it (Engine.IO at /socket.io/). */
export const SOCKETIO_URL = envString('SOCKETIO_URL', 'http://127.0.0.1:8080');
/** host:port of the gRPC server (plaintext HTTP/2). */
export const GRPC_ADDR = envString('GRPC_ADDR', '127.0.0.1:50051');
/** The servers' cost report, polled by the monitor (scripts/lib/monitor/monitor.ts). */
export const STATS_URL = envString('STATS_URL', 'http://127.0.0.1:8080/stats');
/** The browser test page (browser/page.ts) on the servers' HTTP port; its origin serves every endpoint it measures. */
export const PAGE_URL = envString('PAGE_URL', 'http://127.0.0.1:8080/browser/');
