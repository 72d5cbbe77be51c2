// How the services pages write latencies and find runs of breaches (shared with their tests'
// expectations: docs/user/ui.md, "Services and latency SLOs").
import type { Bucket, QualityStatus, Service } from './api';

/** "190 ms", "4.2 ms", "—": whole milliseconds from 10 ms up, one decimal below. */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `${value < 10 ? value.toFixed(1) : Math.round(value).toString()} ms`;
}

export const QUALITY_LABEL: Record<QualityStatus, string> = {
  ok: 'ok',
  insufficient_data: 'insufficient data',
  failing: 'failing',
};

/** One run of consecutive breach buckets: from the first one's start to the last one's end. */
export interface BreachRun {
  startMs: number;
  endMs: number;
  buckets: number;
  peakP95: number;
}

/**
 * The runs of consecutive breach buckets. A missing bucket (no requests) or one within the
 * threshold ends a run. Buckets must be in time order (the server sends them so).
 */
export function breachRuns(buckets: Bucket[], stepSeconds: number): BreachRun[] {
  const stepMs = Math.max(1, stepSeconds) * 1000;
  const runs: BreachRun[] = [];
  let run: BreachRun | undefined;
  for (const bucket of buckets) {
    const start = Date.parse(bucket.start);
    if (!bucket.breach || Number.isNaN(start)) {
      run = undefined;
      continue;
    }
    if (run && run.endMs === start) {
      run.endMs = start + stepMs;
      run.buckets += 1;
      run.peakP95 = Math.max(run.peakP95, bucket.p95_ms ?? 0);
    } else {
      run = { startMs: start, endMs: start + stepMs, buckets: 1, peakP95: bucket.p95_ms ?? 0 };
      runs.push(run);
    }
  }
  return runs;
}

/** Owned services first, then the others; each group by name. */
export function ownedFirst(services: Service[]): Service[] {
  return [...services].sort((a, b) => Number(b.owned) - Number(a.owned) || a.id.localeCompare(b.id));
}
