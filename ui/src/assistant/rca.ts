// Root-cause analysis over a window (`POST /api/v1/analysis/rca`, docs/user/assistant.md): the
// incidents the anomaly detector grouped, each with its ranked suspects, their reasons and the
// evidence (queries and a few of their points). Needs no language model; a caller who may not read
// the fleet gets what they may read (possibly nothing). Times are unix seconds.
import { request } from '../api/http';

export type SuspectKind = 'gpu' | 'model_server' | 'training_job' | 'pipeline' | 'other';

export interface RcaAnomaly {
  method?: string;
  summary?: string;
  start?: number;
  end?: number;
  score?: number;
}

export interface RcaEvidence {
  query: string;
  labels: Record<string, string>;
  /** `[unix seconds, value]`; a value that is not a number comes as null. */
  values: [number, number | null][];
  anomaly?: RcaAnomaly;
}

export interface RcaAlert {
  labels: Record<string, string>;
  state: string;
  starts_at: number;
  ends_at?: number | null;
}

export interface RcaSuspect {
  rank: number;
  incident: number;
  entity: Record<string, string>;
  kind: SuspectKind | string;
  score: number;
  why: string[];
  evidence: RcaEvidence[];
  alerts?: RcaAlert[];
}

export interface RcaIncident {
  id: number;
  start: number;
  end: number;
  score: number;
  /** Indices into `RcaReport.suspects`, in rank order. */
  suspects: number[];
  summary: string;
}

export interface RcaReport {
  window: { start: number; end: number };
  incidents: RcaIncident[];
  suspects: RcaSuspect[];
  warnings?: string[];
  report_markdown: string;
}

export const RCA_PATH = '/api/v1/analysis/rca';

/** The analysis of the last `window` (`1h`, `6h`, `24h`). */
export const explainWindow = async (window: string): Promise<RcaReport> =>
  (await request<RcaReport>(RCA_PATH, { method: 'POST', body: { start: `now-${window}`, end: 'now' } })).body;
