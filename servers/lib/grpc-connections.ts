// Open connections of a grpc-js server for /stats. grpc-js has no connection events, but its
// channelz registry (on by default) tracks every HTTP/2 session a server holds; we read that
// through grpc-js's own channelz handlers, called in-process, page by page.
import * as grpc from '@grpc/grpc-js';
import { statsFor } from './stats.ts';

interface SocketsPage {
  socket_ref: Array<{ socket_id: string }>;
  end: boolean;
}

export function openConnections(server: grpc.Server): number {
  const { GetServerSockets } = grpc.getChannelzHandlers();
  const serverId = String(server.getChannelzRef().id);
  let count = 0;
  for (let start = 0; ;) {
    let page: SocketsPage | undefined;
    // The handler answers synchronously; it only reads `request` from the call.
    const call = { request: { server_id: serverId, start_socket_id: String(start), max_results: '0' } };
    GetServerSockets(call as unknown as Parameters<typeof GetServerSockets>[0], (err, value) => {
      if (!err) page = value as unknown as SocketsPage;
    });
    if (!page) return count;
    count += page.socket_ref.length;
    const last = page.socket_ref[page.socket_ref.length - 1];
    if (page.end || !last) return count;
    start = Number(last.socket_id) + 1;
  }
}

/** Reports `server`'s open connections as the 'grpc' connections in /stats. */
export function countGrpcConnections(server: grpc.Server): void {
  statsFor('grpc').connectionsFrom(() => openConnections(server));
}
