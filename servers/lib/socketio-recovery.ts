// Socket.IO connection state recovery with bounded memory: the adapter socket.io calls to store
// what a recovering client may need (socket.io's `connectionStateRecovery` option), written for
// this server because socket.io-adapter's own SessionAwareAdapter keeps every event packet of the
// namespace for the whole recovery window (and up to a minute more) however many there are, and
// finds a client's offset by scanning all of them.
//
// What socket.io does with it (socket.io 4.8, Socket.IO protocol v5):
//   - every EVENT without an ack id goes through broadcast() (socket.emit too, to the socket's own
//     room): the adapter appends an offset, an opaque string, to the packet's data array and keeps it;
//   - the CONNECT ack carries `pid`, the session's private id;
//   - when a socket drops for a recoverable reason (transport close or error, ping timeout, forced
//     close, server shutdown) socket.io calls persistSession({sid, pid, rooms, data});
//   - a client that reconnects sends {pid, offset} (both strings) in its CONNECT's auth payload;
//     socket.io calls restoreSession(pid, offset) and, given a session, creates the socket with the
//     old id, rooms and `data` (`socket.recovered` = true) and writes the missed packets, each with
//     its offset, before the CONNECT ack (whose pid is then the same as before). Given null, the
//     client gets a new session, as on a first connect (`socket.recovered` = false).
//
// Bounds: a packet is kept for `windowMs` (the session lifetime, socket.io's
// maxDisconnectionDuration) and while all kept packets together stay within `maxBytes` (an
// estimate: the strings and bytes of the packet's arguments plus a fixed overhead each); the oldest
// go first. A session is kept for `windowMs` and at most `maxSessions` of them (the oldest go first);
// it is restored at most once. A session whose missed packets are no longer all kept is not
// restored (the client gets a new one and resumes by its own means). Offsets are this process's
// packet sequence numbers in base 36, so an offset is found without a search and anything that is
// not one this process issued and still keeps (bogus, too old, from a previous process) restores nothing.
import { Adapter, type BroadcastOptions, type PrivateSessionId, type Room, type Session } from 'socket.io-adapter';

export interface RecoveryLimits {
  /** How long a disconnected session and a sent packet are kept (socket.io's maxDisconnectionDuration). */
  windowMs: number;
  /** Estimated bytes of all kept packets together. */
  maxBytes: number;
  /** Disconnected sessions kept at once. */
  maxSessions: number;
}

type Persisted = Omit<Session, 'missedPackets'> & { disconnectedAt: number };

interface Kept {
  seq: number;
  at: number;
  bytes: number;
  data: unknown[];
  rooms: Room[];
  except: Room[];
}

/** What one kept packet costs besides its arguments' strings and bytes (objects, arrays, the offset). */
const PACKET_OVERHEAD = 200;
/** An offset: a sequence number in base 36 (up to 2^53). */
const OFFSET = /^[0-9a-z]{1,11}$/;

function argBytes(v: unknown): number {
  if (typeof v === 'string') return v.length;
  if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return v.byteLength;
  if (typeof v !== 'object' || v === null) return 8;
  try {
    return JSON.stringify(v)?.length ?? 8; // binary nested in objects counts as its JSON form, an over-estimate
  } catch {
    return 1024;
  }
}

/** The adapter class for `new Server({ adapter })`, keeping what recovery needs within `limits`. */
export function recoveryAdapter(limits: RecoveryLimits): typeof Adapter {
  return class BoundedRecoveryAdapter extends Adapter {
    private readonly sessions = new Map<PrivateSessionId, Persisted>();
    private readonly kept: Kept[] = [];
    private head = 0; // kept[head] is the oldest packet still kept
    /**
     * The kept packets by room, and those to every room, each oldest first: a restore reads only
     * its session's rooms. Scanning every packet after the offset instead cost a storm of 10,000
     * restores about 10,000 × (half the namespace's packets since the cut): seconds of a blocked
     * event loop while the clients waited to be accepted.
     */
    private readonly byRoom = new Map<Room, Kept[]>();
    private readonly toAll: Kept[] = [];
    private bytes = 0;
    private nextSeq = 1;
    /** Packets up to this sequence number are gone (expired or pushed out). */
    private goneThrough = 0;
    private readonly sweeper: NodeJS.Timeout;

    constructor(nsp: unknown) {
      super(nsp);
      this.sweeper = setInterval(() => this.expire(Date.now()), Math.min(1000, Math.max(100, limits.windowMs)));
      this.sweeper.unref();
    }

    /** What is kept now (for tests and /stats). */
    keeping(): { packets: number; bytes: number; sessions: number; rooms: number } {
      const packets = this.kept.length - this.head;
      return { packets, bytes: this.bytes, sessions: this.sessions.size, rooms: this.byRoom.size };
    }

    override close(): void {
      clearInterval(this.sweeper);
      this.sessions.clear();
      this.byRoom.clear();
      this.toAll.length = 0;
      this.kept.length = 0;
      this.head = 0;
      this.bytes = 0;
    }

    override broadcast(packet: { type: number; id?: number; data: unknown[] }, opts: BroadcastOptions): void {
      // As socket.io: only events without an ack (an ack cannot be restored) and not volatile.
      if (packet.type === 2 && packet.id === undefined && opts.flags?.volatile === undefined) {
        const seq = this.nextSeq++;
        packet.data.push(seq.toString(36));
        let bytes = PACKET_OVERHEAD;
        for (const arg of packet.data) bytes += argBytes(arg);
        const now = Date.now();
        const kept: Kept = {
          seq,
          at: now,
          bytes,
          data: packet.data,
          rooms: [...opts.rooms],
          except: [...(opts.except ?? [])],
        };
        this.kept.push(kept);
        if (kept.rooms.length === 0) this.toAll.push(kept);
        for (const room of kept.rooms) {
          const list = this.byRoom.get(room);
          if (list) list.push(kept);
          else this.byRoom.set(room, [kept]);
        }
        this.bytes += bytes;
        this.expire(now);
      }
      super.broadcast(packet, opts);
    }

    override persistSession(session: Omit<Session, 'missedPackets'>): void {
      const now = Date.now();
      this.sessions.delete(session.pid); // re-inserted last: the map stays in order of disconnection
      this.sessions.set(session.pid, { ...session, disconnectedAt: now });
      this.expire(now);
    }

    override restoreSession(pid: PrivateSessionId, offset: string): Promise<Session> {
      const now = Date.now();
      this.expire(now);
      const session = this.sessions.get(pid);
      if (!session) return Promise.resolve(null as unknown as Session); // unknown, expired or already restored
      this.sessions.delete(pid);
      const seq = OFFSET.test(offset) ? parseInt(offset, 36) : NaN;
      // The offset must be a packet this process sent and still keeps: then nothing after it is gone.
      if (!(seq > this.goneThrough && seq < this.nextSeq)) return Promise.resolve(null as unknown as Session);
      // the packets after the offset to the session's rooms or to all, each once, in order
      const missed = new Map<number, Kept>();
      for (const list of [this.toAll, ...session.rooms.map((r) => this.byRoom.get(r) ?? [])])
        for (let i = list.length - 1; i >= 0 && list[i]!.seq > seq; i--) missed.set(list[i]!.seq, list[i]!);
      const missedPackets = [...missed.values()]
        .filter((p) => !p.except.some((r) => session.rooms.includes(r)))
        .sort((a, b) => a.seq - b.seq)
        .map((p) => p.data);
      const { disconnectedAt: _, ...restored } = session;
      return Promise.resolve({ ...restored, missedPackets });
    }

    /** Lets go of sessions and packets past the window or over the bounds, oldest first. */
    private expire(now: number): void {
      const cutoff = now - limits.windowMs;
      for (const [pid, s] of this.sessions) {
        if (s.disconnectedAt >= cutoff && this.sessions.size <= limits.maxSessions) break;
        this.sessions.delete(pid);
      }
      while (this.head < this.kept.length) {
        const p = this.kept[this.head]!;
        if (p.at >= cutoff && this.bytes <= limits.maxBytes) break;
        this.bytes -= p.bytes;
        this.goneThrough = p.seq;
        // it is the oldest in each of its lists too
        if (p.rooms.length === 0) this.toAll.shift();
        for (const room of p.rooms) {
          const list = this.byRoom.get(room)!;
          list.shift();
          if (list.length === 0) this.byRoom.delete(room);
        }
        this.kept[this.head++] = undefined as unknown as Kept;
      }
      // Compact now and then, so the array does not grow with everything ever sent.
      if (this.head > 1024 && this.head * 2 > this.kept.length) {
        this.kept.splice(0, this.head);
        this.head = 0;
      }
    }
  };
}
