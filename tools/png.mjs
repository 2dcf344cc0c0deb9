// @ts-check
// Deterministic test image: a real RGB PNG whose pixels come from a fixed-seed PRNG, so it
// barely compresses and lands at ~533 KB (the image workload's size) with the same bytes on every
// machine. The scenarios load it with open(..., 'b'); the tests decode it back.
import { deflateSync, inflateSync, crc32 } from 'node:zlib';

export const IMAGE_WIDTH = 426;
export const IMAGE_HEIGHT = 426;
const SEED = 0x533c0de;

/** @param {string} type @param {Buffer} data */
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** @returns {Buffer} the PNG file bytes */
export function makeTestImage(width = IMAGE_WIDTH, height = IMAGE_HEIGHT) {
  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height);
  let s = SEED >>> 0; // xorshift32
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0; // filter type None
    for (let i = 1; i < stride; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      raw[y * stride + i] = s & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type RGB
  // compression, filter, interlace: 0
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([
    signature,
    chunk('IHDR', ihdr),
    chunk('tEXt', Buffer.from('Comment\0rtbench deterministic test image', 'latin1')),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * Decodes a PNG far enough to prove it is well formed: signature, every chunk's CRC, IHDR,
 * and IDAT inflating to exactly height × (1 + width × bytes per pixel) bytes.
 * @param {Buffer} png
 * @returns {{ width: number, height: number, pixels: Buffer }}
 */
export function decodePng(png) {
  if (!png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    throw new Error('not a PNG: bad signature');
  }
  let off = 8;
  let width = 0,
    height = 0,
    colourType = -1;
  const idat = [];
  let sawEnd = false;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('latin1', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    const crc = png.readUInt32BE(off + 8 + len);
    if (crc32(png.subarray(off + 4, off + 8 + len)) >>> 0 !== crc) throw new Error(`bad CRC in ${type}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      colourType = data[9];
      if (data[8] !== 8) throw new Error('only 8-bit depth supported');
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    off += 12 + len;
  }
  if (!sawEnd) throw new Error('PNG has no IEND');
  const bpp = colourType === 2 ? 3 : colourType === 6 ? 4 : 0;
  if (!bpp) throw new Error(`unsupported colour type ${colourType}`);
  const pixels = inflateSync(Buffer.concat(idat));
  if (pixels.length !== height * (1 + width * bpp))
    throw new Error(`IDAT inflates to ${pixels.length} bytes, expected ${height * (1 + width * bpp)}`);
  return { width, height, pixels };
}
