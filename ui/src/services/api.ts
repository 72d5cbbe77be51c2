// The services API (latency SLOs from access logs, issue 13): the services the user may read or
// owns, a service's 5-minute latency buckets with baselines and breaches, its data-quality report,
// and its alert threshold with the history of changes. Errors are the server's `{"message"}`.
import { request } from '../api/http';

const seg = encodeURIComponent;
const BASE = '/api/services';

export type QualityStatus = 'ok' | 'insufficient_data' | 'failing';

export interface QualityCheck {
  name: string;
  ok: boolean;
  detail?: string | null;
}

export interface Quality {
  status: QualityStatus;
  checks: QualityCheck[];
  /** Lines that did not parse or were refused, per reason. */
  rejected_lines?: Record<string, number> | null;
}

/** One 5-minute bucket (buckets without requests are absent). */
export interface Bucket {
  start: string;
  count: number;
  errors: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  baseline_p95_ms?: number | null;
  same_time_last_week_p95_ms?: number | null;
  breach: boolean;
}

export interface Objective {
  target: number;
  threshold_ms: number;
  window_days: number;
}

export interface Service {
  id: string;
  project?: string | null;
  owners: string[];
  owned: boolean;
  can_edit: boolean;
  threshold_ms: number;
  objective?: Objective | null;
  sources?: string[];
  last_bucket?: Bucket | null;
  baseline_p95_ms?: number | null;
  breaches_24h: number;
  quality: Quality;
  /** The objective's burn rate per window (`5m` … `3d`), when it has an objective and requests. */
  burn_rates?: Record<string, number>;
  /** A UI path of the "Service latency" dashboard for this service. */
  dashboard?: string | null;
}

export interface Latency {
  service: string;
  threshold_ms: number;
  from: string;
  to: string;
  step_seconds: number;
  /** How the baseline is computed, in words. */
  baseline?: string;
  buckets: Bucket[];
  quality?: Quality;
}

export interface ThresholdChange {
  threshold_ms: number;
  changed_by?: string | null;
  changed_at: string;
}

export interface AlertThreshold {
  service: string;
  threshold_ms: number;
  updated_by?: string | null;
  updated_at?: string | null;
  /** Newest first. */
  history: ThresholdChange[];
}

export async function listServices(ownedOnly = false): Promise<Service[]> {
  const body = (await request<Service[]>(ownedOnly ? `${BASE}/owned` : BASE)).body;
  return Array.isArray(body) ? body : [];
}

export async function getService(id: string): Promise<Service> {
  return (await request<Service>(`${BASE}/${seg(id)}`)).body;
}

/** The buckets from `fromSeconds` to `toSeconds` (unix seconds), at the server's 5-minute step. */
export async function getLatency(id: string, fromSeconds: number, toSeconds: number): Promise<Latency> {
  const query = new URLSearchParams({ from: String(fromSeconds), to: String(toSeconds) });
  const body = (await request<Latency>(`${BASE}/${seg(id)}/latency?${query.toString()}`)).body;
  return { ...body, buckets: Array.isArray(body.buckets) ? body.buckets : [] };
}

export async function getThreshold(id: string): Promise<AlertThreshold> {
  const body = (await request<AlertThreshold>(`${BASE}/${seg(id)}/alert-threshold`)).body;
  return { ...body, history: Array.isArray(body.history) ? body.history : [] };
}

export async function setThreshold(id: string, thresholdMs: number): Promise<AlertThreshold> {
  const body = (await request<AlertThreshold>(`${BASE}/${seg(id)}/alert-threshold`, { method: 'POST', body: { threshold_ms: thresholdMs } })).body;
  return { ...body, history: Array.isArray(body.history) ? body.history : [] };
}
