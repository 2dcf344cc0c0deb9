// Server settings from flags and environment, with loopback defaults. A bad value stops the
// process with a message that names the flag or variable and the value it got.

export interface ServerConfig {
  host: string;
  httpPort: number;
  grpcPort: number;
  maxMessageBytes: number;
  only: Set<string>;
  /** host:port the grpc-ws bridge forwards to; '' = this process's own gRPC server. */
  bridgeTarget: string;
}

export const ALL_PARTS = ['ws', 'grpc', 'socketio', 'sse', 'grpc-ws'] as const;

interface Setting {
  flag: string;
  env: string;
  help: string;
  default: string;
}

const SETTINGS = {
  host: { flag: '--host', env: 'RTBENCH_HOST', default: '127.0.0.1', help: 'address to listen on (loopback by default)' },
  httpPort: { flag: '--http-port', env: 'HTTP_PORT', default: '8080', help: 'HTTP/WebSocket port (0 = any free port)' },
  grpcPort: { flag: '--grpc-port', env: 'GRPC_PORT', default: '50051', help: 'gRPC port (0 = any free port)' },
  maxMessageBytes: { flag: '--max-message-bytes', env: 'MAX_MESSAGE_BYTES', default: String(8 * 1024 * 1024), help: 'largest accepted message, bytes' },
  only: { flag: '--only', env: 'RTBENCH_ONLY', default: ALL_PARTS.join(','), help: `comma-separated subset of: ${ALL_PARTS.join(', ')}` },
  bridgeTarget: { flag: '--bridge-target', env: 'BRIDGE_TARGET', default: '', help: "gRPC server (host:port) the grpc-ws bridge forwards to; empty = this process's" },
} satisfies Record<keyof ServerConfig, Setting>;

export class ConfigError extends Error {}

export function usage(): string {
  const lines = Object.values(SETTINGS).map((s) => `  ${(s.flag + ' <v>').padEnd(26)} ${s.help} [env ${s.env}, default ${s.default}]`);
  return ['Usage: npm run servers -- [options]', '', 'Starts the rtbench servers and prints their addresses.', '', ...lines, '  --help                     this text'].join('\n');
}

function port(name: string, raw: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n > 65535) throw new ConfigError(`${name}: '${raw}' is not a port number (0-65535)`);
  return n;
}

export function parseServerConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const raw: Record<string, string> = {};
  for (const [key, s] of Object.entries(SETTINGS)) raw[key] = env[s.env] ?? s.default;
  const names: Record<string, string> = {};
  for (const [key, s] of Object.entries(SETTINGS)) names[key] = env[s.env] !== undefined ? s.env : s.flag;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const entry = Object.entries(SETTINGS).find(([, s]) => s.flag === flag);
    if (!entry) throw new ConfigError(`unknown option '${arg}' (see --help)`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    raw[entry[0]] = value;
    names[entry[0]] = flag;
  }
  const maxRaw = raw.maxMessageBytes!;
  const max = Number(maxRaw);
  if (!/^\d+$/.test(maxRaw) || max < 1024 || max > 256 * 1024 * 1024) {
    throw new ConfigError(`${names.maxMessageBytes}: '${maxRaw}' is not a size in bytes between 1024 and 268435456`);
  }
  const only = new Set(raw.only!.split(',').map((s) => s.trim()).filter(Boolean));
  for (const part of only) {
    if (!(ALL_PARTS as readonly string[]).includes(part)) throw new ConfigError(`${names.only}: unknown server '${part}' (known: ${ALL_PARTS.join(', ')})`);
  }
  if (only.size === 0) throw new ConfigError(`${names.only}: names no server`);
  const bridgeTarget = raw.bridgeTarget!.trim();
  if (bridgeTarget !== '' && !/^(\[[^\]]+\]|[^\s:/]+):\d{1,5}$/.test(bridgeTarget)) throw new ConfigError(`${names.bridgeTarget}: '${bridgeTarget}' is not host:port`);
  if (only.has('grpc-ws') && !only.has('grpc') && bridgeTarget === '') throw new ConfigError(`${names.only}: grpc-ws without grpc needs ${SETTINGS.bridgeTarget.flag} (the gRPC server to forward to)`);
  return {
    host: raw.host!,
    httpPort: port(names.httpPort!, raw.httpPort!),
    grpcPort: port(names.grpcPort!, raw.grpcPort!),
    maxMessageBytes: max,
    only,
    bridgeTarget,
  };
}
