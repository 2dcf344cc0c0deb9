// The workloads as a browser sees them: our test page in real Chromium (k6/browser), one page per
// transport (TRANSPORTS: sse, ws, socketio, socketio-ws, grpc) in PAGES pages per VU, recorded as
// rtb_* with client=browser and the page's protocol (scripts/lib/workload/browser.ts).
// Needs Chromium: K6_BROWSER_EXECUTABLE_PATH=/usr/bin/chromium K6_BROWSER_ARGS=no-sandbox.
//   npm run k6 -- run -e ITERATIONS=1 dist/browser.js
import { scenarioOptions } from './lib/load/options.ts';
import { pagesIteration, pagesScenario, withBrowser } from './lib/workload/browser.ts';
export { monitor } from './lib/monitor/monitor.ts';

export const options = withBrowser(scenarioOptions('browser', pagesScenario()), 'browser');

export default async function () {
  await pagesIteration();
}
