// A WebSocket for a client k6 holds by the thousand (Socket.IO, the gRPC-over-WebSocket bridge):
// openSocket's accounting (ws.ts) without a closure per socket. In k6's JavaScript runtime every
// function object is several hundred bytes of Go heap, and whatever a closure captures stays
// with it: openSocket's three listeners, its callbacks and their scope cost a held connection
// a few KB. Here the listeners are shared by every socket of the VU (module state is per VU) and
// find the socket's owner from the event's `target`; the owner is an object whose methods take
// the events, so a connection costs its WebSocket, its owner and one entry in `owners`.
import { WebSocket, type EventMap } from 'k6/x/ws';
import { CLOSE, isNormalClose } from '../../../contracts/close-codes.ts';
import { errors } from '../monitor/metrics.ts';
import { holdLagProbe, releaseLagProbe } from '../monitor/lag-probe.ts';
import { authHeaders } from './auth.ts';

/** Takes the events of one socket (the methods live on its class, shared by every instance). */
export interface SocketOwner {
  /**
   * An error event and an abnormal close count in rtb_errors unless this is false: a client that
   * reconnects (the feed) counts what it could not recover from itself.
   */
  readonly countsDrops: boolean;
  /** The socket is open; `atMs` is the open event's timestamp. */
  opened(atMs: number): void;
  /** A message, with the timestamp of its event (when k6 read the frame). */
  message(data: string | ArrayBuffer, atMs: number): void;
  /**
   * The socket closed for any reason, a failed open included (k6/x/ws closes after the error); once.
   * `reason` is the close frame's, or for a connection that failed (1006) the error that ended it.
   */
  closed(code: number, reason: string, atMs: number): void;
}

const owners = new Map<WebSocket, SocketOwner>();
const ownerOf = (e: object) => owners.get((e as { target?: unknown }).target as WebSocket);

/**
 * Opens a binary-capable WebSocket to `url` for `owner`, offering `protocol` as its subprotocol
 * when given, with the token's Authorization header. The VU's lag probe runs while it is open.
 * Records no rtb_connect_time: the owner knows when its connection is usable.
 */
export function openHeldSocket(url: string, owner: SocketOwner, protocol = ''): WebSocket {
  const ws = new WebSocket(url, protocol === '' ? null : protocol, { headers: authHeaders() });
  ws.binaryType = 'arraybuffer';
  owners.set(ws, owner);
  holdLagProbe(); // released when the socket closes (owners.delete)
  ws.addEventListener('open', onHeldOpen);
  ws.addEventListener('message', onHeldMessage);
  ws.addEventListener('error', onHeldError);
  ws.addEventListener('close', onHeldClose);
  return ws;
}

function onHeldOpen(e: EventMap['open']): void {
  ownerOf(e)?.opened(e.timestamp);
}
function onHeldMessage(e: EventMap['message']): void {
  ownerOf(e)?.message(e.data, e.timestamp);
}
/** Why a socket failed (its error event), until its close event passes it on. */
const failures = new Map<WebSocket, string>();

function onHeldError(e: EventMap['error']): void {
  const owner = ownerOf(e);
  if (!owner) return;
  failures.set(e.target, e.error);
  if (owner.countsDrops) errors.add(1, { reason: `ws error: ${e.error}`.slice(0, 120) });
}
function onHeldClose(e: EventMap['close']): void {
  const ws = e.target;
  const owner = owners.get(ws);
  if (!owner) return;
  owners.delete(ws);
  const failure = failures.get(ws);
  failures.delete(ws);
  releaseLagProbe();
  const code = e.code ?? CLOSE.NO_STATUS;
  // a failed connection counted its error event: its close (1006) is not counted again
  if (!isNormalClose(code) && owner.countsDrops && failure === undefined) errors.add(1, { reason: `ws close ${code}` });
  // a connection that failed (1006) has no close reason: the error that ended it stands in
  owner.closed(code, e.reason || failure || '', e.timestamp);
}
