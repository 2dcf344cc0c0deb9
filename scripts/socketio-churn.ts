// Connection churn over Socket.IO: the churn workload (scripts/lib/workload/churn.ts), CONNECT_RATE
// new connections a second for WINDOW (our client over k6/x/ws), each subscribing to the
// churn channel from seq 0 and closing once the server has pushed its one message.
// rtb_connect_time: before the WebSocket → the namespace CONNECT ack; rtb_first_message_time:
// the same start → the `feed` event's frame `timestamp`.   k6 run -e CONNECT_RATE=200 dist/socketio-churn.js
import { scenarioOptions } from './lib/load/options.ts';
import { SOCKETIO_URL } from './lib/transport/addresses.ts';
import { SocketIO } from './lib/transport/socketio.ts';
import type { FeedMessage } from './lib/workload/feed.ts';
import { CHURN_CHANNEL, churnChannel, churnOnce, churnScenario } from './lib/workload/churn.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = scenarioOptions('socketio-churn', churnScenario('socketio'));

export function setup() {
  churnChannel(SOCKETIO_URL);
}

export default function () {
  return churnOnce((conn) => {
    const sio = new SocketIO(SOCKETIO_URL, (s) =>
      s.emit('subscribe', { channel: CHURN_CHANNEL, after: 0 }, (args) => {
        const reply = args[0] as { error?: string } | undefined;
        if (reply?.error !== undefined) (conn.failed(`socketio subscribe: ${reply.error}`), s.close());
      }),
    );
    sio.on('feed', (args, atMs) => {
      conn.feedMessage(JSON.parse(args[0] as string) as FeedMessage, atMs);
      sio.close();
    });
    sio.onClosed(() => conn.closed());
    return { close: () => sio.close() };
  });
}
