// Time shift (docs/user/ui.md, "Time shift"): a time-series panel can be compared with the same
// window some time ago ("Compare with… 1 day ago"). The panel then runs, next to each of its
// Prometheus queries, a copy of it shifted by that much; the copies are drawn dashed with
// " (1d ago)" after their names. Nothing of it is saved with the dashboard: the copies exist only
// in the page (PersesDashboard.tsx runs them next to the panel's own queries).
//
// How a copy is shifted: PromQL has no "shift this whole expression", only the `offset` modifier
// of each selector (and subquery). The copy is an ordinary Prometheus query spec with one more
// field (`SHIFT_FIELD`); the Perses Prometheus plugin is wrapped so that for such a spec its
// datasource client rewrites the final PromQL text (variables and `$__rate_interval` already
// filled in by the plugin) just before sending it: every vector and range selector and every
// subquery not inside a shifted subquery gets ` offset <shift>`, an existing offset is increased by
// the shift. The selectors are found with the PromQL parser the Perses PromQL editor uses
// (@prometheus-io/lezer-promql). A query the parser cannot read is not sent; the copy fails with
// the reason (shown on the panel), the panel's own queries are not touched. No React here.
import { parser } from '@prometheus-io/lezer-promql';
import type { DatasourceStore, TimeSeriesQueryPlugin } from '@perses-dev/plugin-system';
import type { PanelDefinition, QueryDefinition, TimeSeriesData, UnknownSpec } from '@perses-dev/core';

/** The Perses query plugin whose queries can be shifted. */
export const SHIFTABLE_QUERY_KIND = 'PrometheusTimeSeriesQuery';

/** The field of a query spec that asks for the shifted copy (never saved: only the page adds it). */
export const SHIFT_FIELD = '__pharosTimeShift';

/** A comparison: how far back, and how it reads ("1d"). */
export interface TimeShift {
  ms: number;
  label: string;
}

/** The choices of the panel menu; "Custom…" takes any duration. */
export const PRESET_SHIFTS: TimeShift[] = [
  { ms: 86_400_000, label: '1d' },
  { ms: 7 * 86_400_000, label: '1w' },
];

/** The longest shift accepted (Prometheus keeps years at most; a typo of "1000d" is caught). */
const MAX_SHIFT_MS = 5 * 365 * 86_400_000;

const UNITS: Array<[string, number]> = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** A PromQL duration for `ms` (largest units first: 1d, 1w, 1d1h, 90s → 1m30s), `-` when negative. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.abs(Math.round(ms));
  let text = '';
  for (const [unit, size] of UNITS) {
    // Years are not used for output: 365d is what the user chose, "1y" reads the same but a leap
    // year in between would make people wonder.
    if (unit === 'y') continue;
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return ms < 0 ? `-${text}` : text;
}

/**
 * Milliseconds of a PromQL duration (`5m`, `1h30m`, `-5m`, `1.5` seconds), or undefined when it is
 * something else (a duration expression, say).
 */
export function parseDuration(text: string): number | undefined {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1).trim();
  }
  if (rest === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(rest)) return sign * Math.round(Number(rest) * 1000);
  let total = 0;
  let position = 0;
  const token = /(\d+)(ms|y|w|d|h|m|s)/y;
  while (position < rest.length) {
    token.lastIndex = position;
    const match = token.exec(rest);
    if (!match) return undefined;
    const size = UNITS.find(([unit]) => unit === match[2])?.[1] ?? 0;
    total += Number(match[1]) * size;
    position = token.lastIndex;
  }
  return sign * total;
}

/** The comparison a user typed ("2h", "3d", "1w"), or a message saying what is wrong. */
export function parseShift(text: string): TimeShift | string {
  const trimmed = text.trim();
  if (!/^(\d+(ms|y|w|d|h|m|s))+$/.test(trimmed)) return 'a duration like 2h, 3d or 1w';
  const ms = parseDuration(trimmed);
  if (ms === undefined || ms <= 0) return 'a duration like 2h, 3d or 1w';
  if (ms > MAX_SHIFT_MS) return 'at most 5 years back';
  return { ms, label: formatDuration(ms) };
}

/** What the shifted copies' series names end with. */
export function shiftSuffix(shift: TimeShift): string {
  return ` (${shift.label} ago)`;
}

type ParsedTree = ReturnType<typeof parser.parse>;
type PromNode = ParsedTree['topNode'];

/** The selector or subquery under a chain of `offset` and `@` modifiers. */
const SHIFTABLE = new Set(['VectorSelector', 'MatrixSelector', 'SubqueryExpr']);
const MODIFIERS = new Set(['OffsetExpr', 'StepInvariantExpr']);

interface Edit {
  from: number;
  to: number;
  text: string;
}

/**
 * `query` with every selector and subquery shifted back by `shiftMs` (see the top of this file);
 * throws an Error saying why when it cannot.
 */
export function shiftQuery(query: string, shiftMs: number): string {
  const tree = parser.parse(query);
  let broken: number | undefined;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && broken === undefined) broken = node.from;
      return broken === undefined;
    },
  });
  if (broken !== undefined) {
    throw new Error(`cannot compare this query with an earlier time: PromQL the comparison does not understand at character ${broken + 1}`);
  }
  const edits: Edit[] = [];
  const offsetText = ` offset ${formatDuration(shiftMs)}`;

  // A selector with its modifiers (`x[5m] @ 100 offset 1h`): the existing offset grows, or one is added.
  const shiftChain = (top: PromNode) => {
    let node: PromNode | null = top;
    let offset: PromNode | undefined;
    while (node && MODIFIERS.has(node.name)) {
      if (node.name === 'OffsetExpr') offset = node;
      node = node.firstChild;
    }
    if (offset) {
      const keyword = offset.getChild('Offset');
      if (!keyword) throw new Error('cannot compare this query with an earlier time: an offset without its duration');
      const current = parseDuration(query.slice(keyword.to, offset.to));
      if (current === undefined) {
        throw new Error(`cannot compare this query with an earlier time: its offset "${query.slice(keyword.to, offset.to).trim()}" is not a plain duration`);
      }
      edits.push({ from: keyword.to, to: offset.to, text: ` ${formatDuration(current + shiftMs)}` });
    } else {
      edits.push({ from: top.to, to: top.to, text: offsetText });
    }
  };

  const visit = (node: PromNode) => {
    if (SHIFTABLE.has(node.name) || MODIFIERS.has(node.name)) {
      // A subquery's inner selectors are evaluated at the subquery's (shifted) steps: not again.
      shiftChain(node);
      return;
    }
    for (let child = node.firstChild; child; child = child.nextSibling) visit(child);
  };
  visit(tree.topNode);
  if (edits.length === 0) {
    throw new Error('cannot compare this query with an earlier time: it reads no series');
  }
  let shifted = query;
  for (const edit of edits.sort((a, b) => b.from - a.from)) {
    shifted = shifted.slice(0, edit.from) + edit.text + shifted.slice(edit.to);
  }
  return shifted;
}

/** The shift a query spec asks for (`SHIFT_FIELD`), if any. */
export function shiftOf(spec: unknown): TimeShift | undefined {
  const value = (spec as Record<string, unknown> | null | undefined)?.[SHIFT_FIELD] as Partial<TimeShift> | undefined;
  return typeof value?.ms === 'number' && typeof value.label === 'string' ? { ms: value.ms, label: value.label } : undefined;
}

/** The shifted copies of a panel's Prometheus queries (empty when it has none). */
export function shiftedQueries(panel: PanelDefinition | undefined, shift: TimeShift): QueryDefinition[] {
  const copies: QueryDefinition[] = [];
  for (const query of panel?.spec.queries ?? []) {
    if (query.spec.plugin.kind !== SHIFTABLE_QUERY_KIND) continue;
    copies.push({
      ...query,
      spec: { ...query.spec, plugin: { ...query.spec.plugin, spec: { ...query.spec.plugin.spec, [SHIFT_FIELD]: shift } } },
    } as QueryDefinition);
  }
  return copies;
}

/** Whether the panel has a query that can be compared. */
export function canShift(panel: PanelDefinition | undefined): boolean {
  return (panel?.spec.queries ?? []).some((query) => query.spec.plugin.kind === SHIFTABLE_QUERY_KIND);
}

type QueryClient = Record<string, unknown> & {
  rangeQuery?: (params: { query: string }, ...rest: unknown[]) => Promise<unknown>;
  instantQuery?: (params: { query: string }, ...rest: unknown[]) => Promise<unknown>;
};

/** A datasource store whose Prometheus clients send `query` shifted by `shiftMs`. */
function shiftingStore(store: DatasourceStore, shiftMs: number): DatasourceStore {
  const shiftClient = (client: QueryClient): QueryClient =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if ((property === 'rangeQuery' || property === 'instantQuery') && typeof value === 'function') {
          return (params: { query: string }, ...rest: unknown[]) => {
            let query: string;
            try {
              query = shiftQuery(params.query, shiftMs);
            } catch (error) {
              return Promise.reject(error);
            }
            return (value as (p: { query: string }, ...r: unknown[]) => Promise<unknown>).call(target, { ...params, query }, ...rest);
          };
        }
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === 'getDatasourceClient' && typeof value === 'function') {
        return async (...args: unknown[]) => shiftClient((await (value as (...a: unknown[]) => Promise<QueryClient>).apply(target, args)) as QueryClient);
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * The Prometheus time-series query plugin, able to run shifted copies: a spec with `SHIFT_FIELD`
 * is run like the plain one, its PromQL shifted on the way out and " (1d ago)" added to its series'
 * names; any other spec runs exactly as before.
 */
export function withTimeShift(plugin: TimeSeriesQueryPlugin<UnknownSpec>): TimeSeriesQueryPlugin<UnknownSpec> {
  return {
    ...plugin,
    getTimeSeriesData: async (spec, context) => {
      const shift = shiftOf(spec);
      if (!shift) return plugin.getTimeSeriesData(spec, context);
      const { [SHIFT_FIELD]: _shift, ...plain } = spec as Record<string, unknown>;
      const data: TimeSeriesData = await plugin.getTimeSeriesData(plain as UnknownSpec, {
        ...context,
        datasourceStore: shiftingStore(context.datasourceStore, shift.ms),
      });
      const suffix = shiftSuffix(shift);
      return {
        ...data,
        series: data.series.map((series) => ({
          ...series,
          name: `${series.name}${suffix}`,
          formattedName: `${series.formattedName ?? series.name}${suffix}`,
        })),
      };
    },
  };
}
