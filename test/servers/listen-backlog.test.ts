// The HTTP port's listen backlog (servers/lib/http.ts): connections the kernel completes while the
// server is too busy to accept them. With Node's default (511) the kernel dropped the handshakes
// of a 10,000-connection reconnect storm past the first 512, and those clients retried for up to a
// minute. Here the real server process is stopped (SIGSTOP: it accepts nothing) while 1,500
// clients connect: the kernel must complete every one of them (up to net.core.somaxconn), and once
// the server runs again it serves them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { startServers, type Servers } from '../helpers.ts';

let s: Servers;
const sockets: Socket[] = [];
before(async () => {
  s = await startServers();
});
after(async () => {
  s.proc.kill('SIGCONT');
  for (const socket of sockets) socket.destroy();
  assert.equal(await s.stop(), 0, 'exit 0 on SIGTERM');
});

const CLIENTS = 1500;

test(`${CLIENTS} connections arriving while the server accepts nothing are all queued, then served`, async () => {
  // the kernel caps any backlog at somaxconn (4096 since Linux 5.4)
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  const expected = Math.min(CLIENTS, somaxconn);
  const port = Number(new URL(s.httpUrl).port);
  assert.ok(s.proc.kill('SIGSTOP'), 'server stopped');
  let connected = 0;
  try {
    await new Promise<void>((resolve) => {
      const done = setTimeout(resolve, 3000); // a dropped handshake is retried after 1 s and 3 s: not yet
      for (let i = 0; i < CLIENTS; i++) {
        const socket = createConnection({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        socket.on('connect', () => {
          if (++connected < CLIENTS) return;
          clearTimeout(done);
          resolve();
        });
        sockets.push(socket);
      }
    });
  } finally {
    s.proc.kill('SIGCONT');
  }
  // Node's default backlog of 511 completes 512 of them
  assert.ok(connected >= expected, `${connected} of ${CLIENTS} connected while the server was stopped`);
  // running again, the server takes the queued connections: a request on the last one is answered
  const last = sockets[sockets.length - 1]!;
  const reply = await new Promise<string>((resolve, reject) => {
    let text = '';
    last.on('data', (d) => {
      text += d;
      if (text.includes('\r\n\r\n')) resolve(text);
    });
    last.on('error', reject);
    last.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
  });
  assert.match(reply, /^HTTP\/1\.1 200 /);
});
