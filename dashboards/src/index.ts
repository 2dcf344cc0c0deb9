// The Grafana dashboards rtbench ships, as the JSON files Grafana provisions from dashboards/.
import { comparison } from './comparison.ts';
import { scenario } from './scenario.ts';

export const DASHBOARDS = { 'rtbench-comparison.json': comparison, 'rtbench-scenario.json': scenario };

/** File name in dashboards/ → its JSON text. */
export function dashboardFiles(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(DASHBOARDS).map(([file, make]) => [file, `${JSON.stringify(make(), null, 2)}\n`]),
  );
}
