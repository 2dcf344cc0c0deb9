// What only a browser does, measured in real Chromium (k6/browser) on our test page: EFFECT=cap
// (six SSE connections per HTTP/1.1 origin, the seventh waits), resume (EventSource after a cut,
// Last-Event-ID, 0 lost), busy (main-thread work vs latency) or calls (the official gRPC-Web client's
// three call kinds through the bridge); see scripts/lib/workload/browser.ts. Needs Chromium.
//   npm run k6 -- run -e ITERATIONS=1 -e EFFECT=cap dist/browser-effects.js
import { scenarioOptions } from './lib/load/options.ts';
import { envChoice } from './lib/load/env.ts';
import { busy, calls, cap, effectScenario, resume, withBrowser } from './lib/workload/browser.ts';
export { monitor } from './lib/monitor/monitor.ts';

const EFFECT = envChoice('EFFECT', 'cap', ['cap', 'resume', 'busy', 'calls'] as const);

export const options = withBrowser(scenarioOptions('browser-effects', effectScenario(EFFECT)), 'browser-effects');

export default async function () {
  await { cap, resume, busy, calls }[EFFECT]();
}
