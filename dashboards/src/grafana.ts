// A small builder for the Grafana dashboard JSON we need: InfluxQL targets on one provisioned
// datasource, Grafana expressions for ratios InfluxQL cannot take across measurements, a few
// panel kinds, query variables, and a layout that packs panels left to right in rows.

/** The datasource provisioned in dashboards/provisioning/datasources/influxdb.yaml (same uid). */
export const DATASOURCE = { type: 'influxdb', uid: 'rtbench-influxdb' } as const;
const EXPRESSION = { type: '__expr__', uid: '__expr__' } as const;

export interface InfluxTarget {
  refId: string;
  datasource: typeof DATASOURCE;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
  hide?: boolean;
}

export interface ExpressionTarget {
  refId: string;
  datasource: typeof EXPRESSION;
  type: 'math';
  expression: string;
}

export type Target = InfluxTarget | ExpressionTarget;

/** A raw InfluxQL query. `alias` may use $tag_<name> and $col. */
export function influx(
  refId: string,
  query: string,
  opts: { alias?: string; table?: boolean; hide?: boolean } = {},
): InfluxTarget {
  return {
    refId,
    datasource: DATASOURCE,
    query,
    rawQuery: true,
    resultFormat: opts.table ? 'table' : 'time_series',
    ...(opts.alias ? { alias: opts.alias } : {}),
    ...(opts.hide ? { hide: true } : {}),
  };
}

/** A Grafana math expression over other targets of the panel (series are matched by their tags). */
export function math(refId: string, expression: string): ExpressionTarget {
  return { refId, datasource: EXPRESSION, type: 'math', expression };
}

interface PanelOpts {
  description: string;
  unit?: string;
  w?: number;
  h?: number;
}

export interface Panel {
  type: string;
  title: string;
  description: string;
  datasource: typeof DATASOURCE | { type: 'datasource'; uid: '-- Mixed --' };
  targets: Target[];
  fieldConfig: { defaults: Record<string, unknown>; overrides: unknown[] };
  options: Record<string, unknown>;
  gridPos: { x: number; y: number; w: number; h: number };
  id: number;
}

interface Row {
  type: 'row';
  title: string;
  collapsed: false;
  panels: [];
  gridPos: { x: number; y: number; w: number; h: number };
  id: number;
}

function panel(
  type: string,
  title: string,
  targets: Target[],
  opts: PanelOpts,
  options: Record<string, unknown>,
  custom: Record<string, unknown> = {},
): Panel {
  const mixed = targets.some((t) => t.datasource === EXPRESSION);
  return {
    type,
    title,
    description: opts.description,
    // Expressions run server-side beside the InfluxQL targets: the panel's datasource is "Mixed".
    datasource: mixed ? { type: 'datasource', uid: '-- Mixed --' } : DATASOURCE,
    targets,
    fieldConfig: {
      defaults: { unit: opts.unit ?? 'short', ...(Object.keys(custom).length ? { custom } : {}) },
      overrides: [],
    },
    options,
    gridPos: { x: 0, y: 0, w: opts.w ?? 12, h: opts.h ?? 8 },
    id: 0,
  };
}

export function timeseries(title: string, targets: Target[], opts: PanelOpts & { bars?: boolean }): Panel {
  const legend = { displayMode: 'table', placement: 'bottom', calcs: ['mean', 'max'], showLegend: true };
  const custom = opts.bars
    ? { drawStyle: 'bars', fillOpacity: 80, lineWidth: 1 }
    : { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never', spanNulls: true };
  return panel('timeseries', title, targets, opts, { legend, tooltip: { mode: 'multi', sort: 'desc' } }, custom);
}

/** One horizontal bar per series: a whole-range number per protocol/run. */
export function bars(title: string, targets: Target[], opts: PanelOpts): Panel {
  return panel('bargauge', title, targets, opts, {
    orientation: 'horizontal',
    displayMode: 'basic',
    showUnfilled: true,
    reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
  });
}

export function table(title: string, targets: Target[], opts: PanelOpts): Panel {
  return panel('table', title, targets, opts, { showHeader: true, cellHeight: 'sm' });
}

export function row(title: string): Row {
  return { type: 'row', title, collapsed: false, panels: [], gridPos: { x: 0, y: 0, w: 24, h: 1 }, id: 0 };
}

/** Places panels left to right, wrapping at Grafana's 24 columns; a row starts a new line. Numbers the ids. */
export function layout(items: Array<Panel | Row>): Array<Panel | Row> {
  let x = 0;
  let y = 0;
  let lineHeight = 0;
  return items.map((item, i) => {
    const { w, h } = item.gridPos;
    if (item.type === 'row' || x + w > 24) {
      y += lineHeight;
      x = 0;
      lineHeight = 0;
    }
    const placed = { ...item, id: i + 1, gridPos: { x, y, w, h } };
    x += w;
    lineHeight = Math.max(lineHeight, h);
    if (item.type === 'row') {
      y += h;
      x = 0;
      lineHeight = 0;
    }
    return placed;
  });
}

export interface Variable {
  type: 'query';
  name: string;
  label: string;
  datasource: typeof DATASOURCE;
  query: string;
  definition: string;
  refresh: 1 | 2;
  sort: 1 | 2;
  multi: boolean;
  includeAll: boolean;
  allValue?: string;
  current: Record<string, never>;
  options: [];
  hide: 0;
}

/**
 * A variable filled by an InfluxQL SHOW TAG VALUES query. With `all`, several values or "All"
 * may be picked; "All" is the regex `.*`, which also matches samples without the tag.
 */
export function variable(
  name: string,
  label: string,
  query: string,
  opts: { all?: boolean; newestFirst?: boolean } = {},
): Variable {
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCE,
    query,
    definition: query,
    refresh: 1,
    sort: opts.newestFirst ? 2 : 1,
    multi: !!opts.all,
    includeAll: !!opts.all,
    ...(opts.all ? { allValue: '.*' } : {}),
    current: {},
    options: [],
    hide: 0,
  };
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  panels: Array<Panel | Row>;
  links?: unknown[];
}

export function dashboard(spec: DashboardSpec) {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['rtbench', 'k6'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-30m', to: 'now' },
    refresh: '10s',
    timezone: 'browser',
    annotations: { list: [] },
    links: spec.links ?? [],
    templating: { list: spec.variables },
    panels: layout(spec.panels),
  };
}

export type Dashboard = ReturnType<typeof dashboard>;
