// Server settings from flags (node:util parseArgs) and environment, with loopback defaults and a
// bound on every resource. A bad value stops the process with a message that names the flag or
// variable and the value it got. Every bound is listed by --help and served in /stats (`limits`).
import { parseArgs } from 'node:util';

export const ALL_PARTS = ['ws', 'grpc', 'socketio', 'sse', 'grpc-ws'] as const;

/** The resource bounds every server part applies; shown by --help and in /stats. */
export interface Limits {
  maxMessageBytes: number;
  /** Open TCP connections on the HTTP port (WebSocket, SSE, Socket.IO, bridge, plain HTTP). */
  maxConnections: number;
  /** Time for a new connection to finish its handshake: HTTP headers, a WebSocket's first message where one is required, gRPC's HTTP/2 preface. */
  handshakeMs: number;
  /** Time to receive a whole HTTP request (headers and body). */
  requestTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (WebSocket pings do not count; a peer that stops answering pings is cut after one ping interval). */
  idleMs: number;
  /** Reply bytes waiting for a slow reader beyond which the server stops reading from it (echo, Socket.IO, bridge) or drops it (feed). */
  maxBufferedBytes: number;
  /** Concurrent gRPC calls per HTTP/2 connection. */
  grpcMaxStreams: number;
  /** Deepest JSON nesting accepted in a Socket.IO packet. */
  socketIoMaxDepth: number;
  /** Socket.IO connection state recovery: how long a dropped session and the packets it may have missed are kept; 0 = off. */
  socketIoRecoveryMs: number;
  /** Socket.IO connection state recovery: bytes of sent packets kept for recovering clients (an estimate). */
  socketIoRecoveryBytes: number;
  /** Feed: channels that may exist at once. */
  maxChannels: number;
  /** Feed: rate × bytes one channel may publish, bytes/s. */
  channelBytesPerSec: number;
  /** Feed: rate × bytes of every channel together, bytes/s. */
  feedBytesPerSec: number;
  /** Feed: replay memory of every channel together, bytes. */
  replayBytes: number;
  /** Feed: how long a channel keeps publishing after its last subscriber left (so a reconnect can resume). */
  resumeGraceMs: number;
  channelIdleMs: number;
}

export interface ServerConfig {
  host: string;
  httpPort: number;
  grpcPort: number;
  only: Set<string>;
  /** host:port the grpc-ws bridge forwards to; '' = this process's own gRPC server. */
  bridgeTarget: string;
  /** Bearer token every surface requires; '' = none. */
  token: string;
  /** Origins allowed on browser-reachable routes besides loopback ones; '*' = any. */
  allowOrigins: string[];
  limits: Limits;
  /** Same as limits.maxMessageBytes (kept for the parts that only need this). */
  maxMessageBytes: number;
}

const MiB = 1024 * 1024;

interface Setting {
  flag: string;
  env: string;
  help: string;
  default: string;
  /** For numeric settings: the accepted range. */
  range?: [number, number];
}

const num = (flag: string, env: string, def: number, range: [number, number], help: string): Setting => ({
  flag,
  env,
  default: String(def),
  range,
  help,
});

const SETTINGS = {
  host: { flag: 'host', env: 'RTBENCH_HOST', default: '127.0.0.1', help: 'address to listen on (loopback by default)' },
  httpPort: num('http-port', 'HTTP_PORT', 8080, [0, 65535], 'HTTP/WebSocket port (0 = any free port)'),
  grpcPort: num('grpc-port', 'GRPC_PORT', 50051, [0, 65535], 'gRPC port (0 = any free port)'),
  only: {
    flag: 'only',
    env: 'RTBENCH_ONLY',
    default: ALL_PARTS.join(','),
    help: `comma-separated subset of: ${ALL_PARTS.join(', ')}`,
  },
  bridgeTarget: {
    flag: 'bridge-target',
    env: 'BRIDGE_TARGET',
    default: '',
    help: "gRPC server (host:port) the grpc-ws bridge forwards to; empty = this process's",
  },
  token: {
    flag: 'token',
    env: 'RTBENCH_TOKEN',
    default: '',
    help: 'bearer token required on every surface (empty = none)',
  },
  allowOrigins: {
    flag: 'allow-origin',
    env: 'RTBENCH_ALLOW_ORIGIN',
    default: '',
    help: "comma-separated Origins allowed besides loopback ones ('*' = any)",
  },
  maxMessageBytes: num(
    'max-message-bytes',
    'MAX_MESSAGE_BYTES',
    8 * MiB,
    [1024, 256 * MiB],
    'largest accepted message, bytes',
  ),
  maxConnections: num(
    'max-connections',
    'RTBENCH_MAX_CONNECTIONS',
    10_000,
    [1, 1_000_000],
    'open connections on the HTTP port',
  ),
  handshakeMs: num(
    'handshake-ms',
    'RTBENCH_HANDSHAKE_MS',
    10_000,
    [100, 3_600_000],
    'time to send HTTP headers, a first WebSocket message, the HTTP/2 preface',
  ),
  requestTimeoutMs: num(
    'request-timeout-ms',
    'RTBENCH_REQUEST_TIMEOUT_MS',
    30_000,
    [100, 3_600_000],
    'time to send a whole HTTP request',
  ),
  idleMs: num(
    'idle-ms',
    'RTBENCH_IDLE_MS',
    120_000,
    [1000, 86_400_000],
    'a connection with no traffic for this long is closed',
  ),
  maxBufferedBytes: num(
    'max-buffered-bytes',
    'RTBENCH_MAX_BUFFERED_BYTES',
    4 * MiB,
    [64 * 1024, 1024 * MiB],
    'unread reply bytes per connection before reading stops (feed: the subscriber is dropped)',
  ),
  grpcMaxStreams: num(
    'grpc-max-streams',
    'RTBENCH_GRPC_MAX_STREAMS',
    16,
    [1, 10_000],
    'concurrent gRPC calls per connection',
  ),
  socketIoMaxDepth: num(
    'socketio-max-depth',
    'RTBENCH_SOCKETIO_MAX_DEPTH',
    32,
    [1, 1000],
    'deepest JSON nesting in a Socket.IO packet',
  ),
  socketIoRecoveryMs: num(
    'socketio-recovery-ms',
    'RTBENCH_SOCKETIO_RECOVERY_MS',
    30_000,
    [0, 3_600_000],
    'Socket.IO connection state recovery: a dropped session is kept this long (0 = off)',
  ),
  socketIoRecoveryBytes: num(
    'socketio-recovery-bytes',
    'RTBENCH_SOCKETIO_RECOVERY_BYTES',
    64 * MiB,
    [0, 16384 * MiB],
    'Socket.IO connection state recovery: sent packets kept for recovering clients, bytes',
  ),
  maxChannels: num('max-channels', 'RTBENCH_MAX_CHANNELS', 1000, [1, 100_000], 'feed channels at once'),
  channelBytesPerSec: num(
    'channel-bytes-per-sec',
    'RTBENCH_CHANNEL_BYTES_PER_SEC',
    32 * MiB,
    [1024, 4096 * MiB],
    'rate × bytes of one feed channel',
  ),
  feedBytesPerSec: num(
    'feed-bytes-per-sec',
    'RTBENCH_FEED_BYTES_PER_SEC',
    128 * MiB,
    [1024, 16384 * MiB],
    'rate × bytes of all feed channels together',
  ),
  replayBytes: num(
    'replay-bytes',
    'RTBENCH_REPLAY_BYTES',
    256 * MiB,
    [0, 16384 * MiB],
    'feed replay memory of all channels together',
  ),
  resumeGraceMs: num(
    'resume-grace-ms',
    'RTBENCH_RESUME_GRACE_MS',
    30_000,
    [0, 3_600_000],
    'a feed channel keeps publishing this long after its last subscriber left',
  ),
  channelIdleMs: num(
    'channel-idle-ms',
    'RTBENCH_CHANNEL_IDLE_MS',
    60_000,
    [1000, 86_400_000],
    'a feed channel with no subscriber for this long is removed',
  ),
} satisfies Record<string, Setting>;

type Key = keyof typeof SETTINGS;

export class ConfigError extends Error {}

export function usage(): string {
  const lines = Object.values(SETTINGS).map(
    (s: Setting) =>
      `  ${`--${s.flag} <v>`.padEnd(28)} ${s.help} [env ${s.env}, default ${s.default === '' ? "''" : s.default}]`,
  );
  return [
    'Usage: npm run servers -- [options]',
    '',
    'Starts the rtbench servers and prints their addresses. Every option can also come from its',
    'environment variable; a flag wins over the environment.',
    '',
    ...lines,
    '  -h, --help                   this text',
  ].join('\n');
}

export function parseServerConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.values(SETTINGS).map((s: Setting) => [s.flag, { type: 'string' as const }]),
    );
    values = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    // parseArgs names the unknown option or the flag missing its value.
    const message = (err as Error).message.replace(/\. To specify.*$/s, '');
    throw new ConfigError(`${message.charAt(0).toLowerCase()}${message.slice(1)} (see --help)`);
  }
  const raw = {} as Record<Key, string>;
  const names = {} as Record<Key, string>;
  for (const [key, s] of Object.entries(SETTINGS) as Array<[Key, Setting]>) {
    const flagValue = values[s.flag];
    if (typeof flagValue === 'string') [raw[key], names[key]] = [flagValue, `--${s.flag}`];
    else if (env[s.env] !== undefined) [raw[key], names[key]] = [env[s.env]!, s.env];
    else [raw[key], names[key]] = [s.default, `--${s.flag}`];
  }
  const number = (key: Key): number => {
    const [lo, hi] = (SETTINGS[key] as Setting).range!;
    const v = raw[key].trim();
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < lo || n > hi)
      throw new ConfigError(`${names[key]}: '${raw[key]}' is not a whole number from ${lo} to ${hi}`);
    return n;
  };
  const only = new Set(
    raw.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const part of only) {
    if (!(ALL_PARTS as readonly string[]).includes(part))
      throw new ConfigError(`${names.only}: unknown server '${part}' (known: ${ALL_PARTS.join(', ')})`);
  }
  if (only.size === 0) throw new ConfigError(`${names.only}: names no server`);
  const bridgeTarget = raw.bridgeTarget.trim();
  if (bridgeTarget !== '' && !/^(\[[^\]]+\]|[^\s:/]+):\d{1,5}$/.test(bridgeTarget))
    throw new ConfigError(`${names.bridgeTarget}: '${bridgeTarget}' is not host:port`);
  if (only.has('grpc-ws') && !only.has('grpc') && bridgeTarget === '')
    throw new ConfigError(`${names.only}: grpc-ws without grpc needs --bridge-target (the gRPC server to forward to)`);
  const token = raw.token;
  if (token !== '' && !/^[\x21-\x7e]{1,512}$/.test(token))
    throw new ConfigError(`${names.token}: must be 1-512 printable ASCII characters without spaces`);
  const allowOrigins = raw.allowOrigins
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const o of allowOrigins)
    if (o !== '*' && !/^https?:\/\/[^\s/]+$/.test(o))
      throw new ConfigError(`${names.allowOrigins}: '${o}' is not an origin like http://host:port (or '*')`);
  const limits: Limits = {
    maxMessageBytes: number('maxMessageBytes'),
    maxConnections: number('maxConnections'),
    handshakeMs: number('handshakeMs'),
    requestTimeoutMs: number('requestTimeoutMs'),
    idleMs: number('idleMs'),
    maxBufferedBytes: number('maxBufferedBytes'),
    grpcMaxStreams: number('grpcMaxStreams'),
    socketIoMaxDepth: number('socketIoMaxDepth'),
    socketIoRecoveryMs: number('socketIoRecoveryMs'),
    socketIoRecoveryBytes: number('socketIoRecoveryBytes'),
    maxChannels: number('maxChannels'),
    channelBytesPerSec: number('channelBytesPerSec'),
    feedBytesPerSec: number('feedBytesPerSec'),
    replayBytes: number('replayBytes'),
    resumeGraceMs: number('resumeGraceMs'),
    channelIdleMs: number('channelIdleMs'),
  };
  return {
    host: raw.host,
    httpPort: number('httpPort'),
    grpcPort: number('grpcPort'),
    only,
    bridgeTarget,
    token,
    allowOrigins,
    limits,
    maxMessageBytes: limits.maxMessageBytes,
  };
}

/** The defaults, for servers started in-process (tests) without a command line. */
export function defaultConfig(): ServerConfig {
  return parseServerConfig([], {});
}
