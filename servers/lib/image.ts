// The image-transfer check shared by every protocol: the client claims a size and a SHA-256,
// the server hashes what actually arrived and acknowledges with what it saw.
import { nowMs, sha256Hex, SHA256_HEX } from './clock.ts';

export interface ImageClaim {
  id: number;
  size: number;
  sha256: string;
}

export interface ImageAck {
  id: number;
  bytes: number;
  sha256: string;
  match: boolean;
  serverRecvMs: number;
}

/** Why a claim is malformed, or null when it is well formed. */
export function claimProblem(claim: unknown): string | null {
  if (typeof claim !== 'object' || claim === null) return 'header must be a JSON object';
  const c = claim as Record<string, unknown>;
  if (!Number.isInteger(c.id) || (c.id as number) < 0 || (c.id as number) > 0xffffffff) return `id must be an unsigned 32-bit integer, got ${JSON.stringify(c.id)}`;
  if (!Number.isInteger(c.size) || (c.size as number) < 0) return `size must be a non-negative integer, got ${JSON.stringify(c.size)}`;
  if (typeof c.sha256 !== 'string' || !SHA256_HEX.test(c.sha256)) return `sha256 must be 64 lowercase hex characters, got ${JSON.stringify(c.sha256)}`;
  return null;
}

export function verifyImage(claim: ImageClaim, data: Uint8Array, receivedAt = nowMs()): ImageAck {
  const digest = sha256Hex(data);
  return {
    id: claim.id,
    bytes: data.byteLength,
    sha256: digest,
    match: data.byteLength === claim.size && digest === claim.sha256,
    serverRecvMs: receivedAt,
  };
}
