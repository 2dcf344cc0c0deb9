// A strict check of protobuf wire bytes against a message type, run before decoding. protobufjs
// (under grpc-js) decodes leniently: a known field with the wrong wire type, field number 0, an
// over-long varint or a group are read as something rather than refused. We accept exactly:
// - known fields with their own wire type (repeated numeric fields packed or not);
// - unknown field numbers with wire types 0, 1, 2 or 5 (skipped, as protobuf requires for
//   forward compatibility);
// - strings that are valid UTF-8; nested messages checked the same way, up to 32 levels.
// Everything else is refused with the reason: field number 0 or over 2^29-1, wire types 3, 4
// (groups), 6 and 7, a varint over 10 bytes, a length past the end, a truncated fixed field.
import type { PackageDefinition } from '@grpc/proto-loader';

interface Field {
  number: number;
  name: string;
  type: string; // TYPE_INT32, TYPE_MESSAGE, …
  label: string;
  typeName: string;
}

interface MessageDescriptor {
  name: string;
  field: Field[];
}

const VARINT = new Set([
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_SINT32',
  'TYPE_SINT64',
  'TYPE_BOOL',
  'TYPE_ENUM',
]);
const FIXED64 = new Set(['TYPE_FIXED64', 'TYPE_SFIXED64', 'TYPE_DOUBLE']);
const FIXED32 = new Set(['TYPE_FIXED32', 'TYPE_SFIXED32', 'TYPE_FLOAT']);
const MAX_DEPTH = 32;
const MAX_FIELD = 2 ** 29 - 1;

const wireTypeOf = (type: string) => (VARINT.has(type) ? 0 : FIXED64.has(type) ? 1 : FIXED32.has(type) ? 5 : 2);
const utf8 = new TextDecoder('utf-8', { fatal: true });

export class WireError extends Error {}

/** Checks messages of the types in `pkg`; `check(typeName, bytes)` throws a WireError naming what is wrong. */
export class StrictWire {
  private readonly types = new Map<string, Map<number, Field>>();

  constructor(pkg: PackageDefinition) {
    for (const [name, def] of Object.entries(pkg)) {
      const d = def as { format?: string; type?: MessageDescriptor };
      if (d.format !== 'Protocol Buffer 3 DescriptorProto' || !d.type?.field) continue;
      this.types.set(name, new Map(d.type.field.map((f) => [f.number, f])));
    }
  }

  /** The full name of a field's message type, resolved from the enclosing type's package. */
  private resolve(typeName: string, within: string): string {
    const bare = typeName.replace(/^\./, '');
    if (this.types.has(bare)) return bare;
    const pkg = within.slice(0, within.lastIndexOf('.'));
    return `${pkg}.${bare}`;
  }

  check(typeName: string, buf: Uint8Array, depth = 0): void {
    const fields = this.types.get(typeName);
    if (!fields) return;
    if (depth > MAX_DEPTH) throw new WireError(`messages nested deeper than ${MAX_DEPTH} levels`);
    let pos = 0;
    const varint = (): number => {
      let value = 0;
      let scale = 1;
      for (let i = 0; i < 10; i++) {
        if (pos >= buf.length) throw new WireError(`truncated varint at byte ${pos}`);
        const b = buf[pos++]!;
        if (i === 9 && b > 1) throw new WireError(`varint at byte ${pos - 10} overflows 64 bits`);
        value += (b & 0x7f) * scale;
        scale *= 128;
        if ((b & 0x80) === 0) return value;
      }
      throw new WireError(`varint at byte ${pos - 10} is longer than 10 bytes`);
    };
    const need = (n: number, what: string) => {
      if (pos + n > buf.length)
        throw new WireError(`${what} at byte ${pos} runs past the end (${n} bytes, ${buf.length - pos} left)`);
    };
    while (pos < buf.length) {
      const at = pos;
      const tag = varint();
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      if (number === 0) throw new WireError(`field number 0 at byte ${at}`);
      if (number > MAX_FIELD) throw new WireError(`field number ${number} at byte ${at} is over ${MAX_FIELD}`);
      if (wire === 3 || wire === 4)
        throw new WireError(`group (wire type ${wire}) at byte ${at}: groups are not accepted`);
      if (wire > 5) throw new WireError(`invalid wire type ${wire} at byte ${at}`);
      const field = fields.get(number);
      if (field) {
        const expected = wireTypeOf(field.type);
        const packed = wire === 2 && expected !== 2 && field.label === 'LABEL_REPEATED';
        if (wire !== expected && !packed)
          throw new WireError(`field ${number} (${field.name}) has wire type ${wire}, expected ${expected}`);
      }
      if (wire === 0) varint();
      else if (wire === 1) (need(8, 'fixed64'), (pos += 8));
      else if (wire === 5) (need(4, 'fixed32'), (pos += 4));
      else {
        const len = varint();
        need(len, `length-delimited field ${number}`);
        const body = buf.subarray(pos, pos + len);
        pos += len;
        if (!field) continue;
        if (field.type === 'TYPE_STRING') {
          try {
            utf8.decode(body);
          } catch {
            throw new WireError(`field ${number} (${field.name}) is not valid UTF-8`);
          }
        } else if (field.type === 'TYPE_MESSAGE') {
          this.check(this.resolve(field.typeName, typeName), body, depth + 1);
        } else if (field.type !== 'TYPE_BYTES') {
          this.checkPacked(body, wireTypeOf(field.type), field);
        }
      }
    }
  }

  private checkPacked(body: Uint8Array, wire: number, field: Field): void {
    if (wire === 1 || wire === 5) {
      const size = wire === 1 ? 8 : 4;
      if (body.length % size !== 0)
        throw new WireError(
          `packed field ${field.number} (${field.name}) is ${body.length} bytes, not a multiple of ${size}`,
        );
      return;
    }
    let run = 0;
    for (let i = 0; i < body.length; i++) {
      run = body[i]! & 0x80 ? run + 1 : 0;
      if (run >= 10)
        throw new WireError(`packed field ${field.number} (${field.name}) holds a varint longer than 10 bytes`);
    }
    if (run > 0) throw new WireError(`packed field ${field.number} (${field.name}) ends inside a varint`);
  }
}
