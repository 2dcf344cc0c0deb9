// The image-transfer check shared by every protocol: the client claims a size and a SHA-256,
// the server hashes what actually arrived and acknowledges with what it saw; the client accepts
// an ack only when it confirms the claim. Pure: no k6 or Node APIs.

/** What the client says it is sending (a JSON text frame over WebSocket, fields of ImageRequest over gRPC). */
export interface ImageClaim {
  id: number;
  size: number;
  sha256: string;
}

/** What the server says it received. gRPC's JSON mapping (as k6 shows it) renders the uint64 `bytes` as a string. */
export interface ImageAck {
  id: number;
  bytes: number | string;
  sha256: string;
  match: boolean;
  serverRecvMs: number;
}

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Why a claim is malformed, or null when it is well formed. */
export function claimProblem(claim: unknown): string | null {
  if (typeof claim !== 'object' || claim === null) return 'header must be a JSON object';
  const c = claim as Record<string, unknown>;
  if (!Number.isInteger(c.id) || (c.id as number) < 0 || (c.id as number) > 0xffffffff) {
    return `id must be an unsigned 32-bit integer, got ${JSON.stringify(c.id)}`;
  }
  if (!Number.isInteger(c.size) || (c.size as number) < 0) {
    return `size must be a non-negative integer, got ${JSON.stringify(c.size)}`;
  }
  if (typeof c.sha256 !== 'string' || !SHA256_HEX.test(c.sha256)) {
    return `sha256 must be 64 lowercase hex characters, got ${JSON.stringify(c.sha256)}`;
  }
  return null;
}

/** True when `ack` says the server received exactly what `claim` announced. */
export function ackConfirms(claim: ImageClaim, ack: ImageAck): boolean {
  return ack.id === claim.id && ack.match === true && ack.sha256 === claim.sha256 && Number(ack.bytes) === claim.size;
}
