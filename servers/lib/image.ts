// The server's half of the image-transfer check (contracts/image.ts): it hashes what actually
// arrived and acknowledges with what it saw.
import { nowMs, sha256Hex } from './clock.ts';
import type { ImageAck, ImageClaim } from '../../contracts/image.ts';

export { claimProblem, type ImageAck, type ImageClaim } from '../../contracts/image.ts';

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
