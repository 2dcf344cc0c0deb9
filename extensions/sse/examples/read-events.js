// k6/x/sse by example: open one stream, read EVENTS events, check each, close. Run it with a k6
// built with this extension (from the repo: npm run k6 -- run extensions/sse/examples/read-events.js)
// against any text/event-stream URL:
//   k6 run -e SSE_URL='http://127.0.0.1:8080/sse?channel=demo' -e EVENTS=5 read-events.js
// test/e2e/sse-example.test.ts runs it against rtbench's servers.
import { check } from 'k6';
import { clearTimeout, setTimeout } from 'k6/timers';
import { EventSource } from 'k6/x/sse';

const URL = __ENV.SSE_URL || 'http://127.0.0.1:8080/sse?channel=demo';
const EVENTS = Number(__ENV.EVENTS || 5);

export const options = { iterations: 1, thresholds: { checks: ['rate==1'] } };

export default function () {
  let seen = 0;
  let lastId = 0;
  const es = new EventSource(URL, { tags: { example: 'read-events' } });
  // Handlers never block: a timer, not sleep(), bounds the wait.
  const giveUp = setTimeout(() => {
    check(seen, { [`${EVENTS} events within 10 s`]: (n) => n >= EVENTS });
    es.close();
  }, 10_000);

  es.onopen = () => check(es, { 'stream is open': (s) => s.readyState === EventSource.OPEN });
  es.onmessage = (e) => {
    seen++;
    check(e, {
      'event has data': (ev) => ev.data.length > 0,
      'event ids increase': (ev) => Number(ev.lastEventId) > lastId,
      'event timestamp is when it was read': (ev) => Math.abs(Date.now() - ev.timestamp) < 5_000,
    });
    lastId = Number(e.lastEventId);
    if (seen === EVENTS) {
      clearTimeout(giveUp);
      es.close();
    }
  };
  es.onerror = (e) => {
    check(e, { 'no stream errors': () => false });
    console.error(`stream error: ${e.error} (HTTP ${e.status})`);
    if (es.readyState === EventSource.CLOSED) clearTimeout(giveUp); // refused for good: nothing more will come
  };
}
