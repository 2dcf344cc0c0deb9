// What each protocol costs the server: connections, messages and bytes per protocol, plus the
// process's CPU, memory and event-loop lag. Served as JSON at GET /stats.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export class ProtocolStats {
  connections = 0;
  connectionsTotal = 0;
  messagesIn = 0;
  messagesOut = 0;
  bytesIn = 0;
  bytesOut = 0;
  errors = 0;

  opened(): void { this.connections++; this.connectionsTotal++; }
  closed(): void { this.connections--; }
  received(bytes: number): void { this.messagesIn++; this.bytesIn += bytes; }
  sent(bytes: number): void { this.messagesOut++; this.bytesOut += bytes; }
}

const protocols = new Map<string, ProtocolStats>();

export function statsFor(protocol: string): ProtocolStats {
  let s = protocols.get(protocol);
  if (!s) protocols.set(protocol, (s = new ProtocolStats()));
  return s;
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let lastCpu = process.cpuUsage();
let lastAt = process.hrtime.bigint();

export interface StatsSnapshot {
  time: number;
  cpuPercent: number; // since the previous snapshot, of one core
  cpuUserMs: number; // cumulative
  cpuSystemMs: number; // cumulative
  rssBytes: number;
  heapUsedBytes: number;
  eventLoopLagMs: { mean: number; p99: number; max: number };
  protocols: Record<string, ProtocolStats>;
}

export function snapshot(): StatsSnapshot {
  const cpu = process.cpuUsage();
  const at = process.hrtime.bigint();
  const elapsedUs = Number(at - lastAt) / 1000;
  const usedUs = cpu.user - lastCpu.user + (cpu.system - lastCpu.system);
  lastCpu = cpu;
  lastAt = at;
  const mem = process.memoryUsage();
  const lag = {
    mean: Number.isNaN(loopDelay.mean) ? 0 : loopDelay.mean / 1e6,
    p99: loopDelay.percentile(99) / 1e6,
    max: loopDelay.max / 1e6,
  };
  loopDelay.reset();
  return {
    time: Date.now(),
    cpuPercent: elapsedUs > 0 ? (100 * usedUs) / elapsedUs : 0,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    eventLoopLagMs: lag,
    protocols: Object.fromEntries(protocols),
  };
}
