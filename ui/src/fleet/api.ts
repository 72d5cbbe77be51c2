// The fleet's API (docs/user/fleet.md): clusters with their health and capabilities, the fleet
// summary, alerts from Alertmanager and the GPU views. The live event stream is in events.ts.
import { ApiError, request } from '../api/http';

const seg = encodeURIComponent;

export type ClusterType = 'hub' | 'spoke' | 'edge' | 'far_edge';
export const CLUSTER_TYPES: { id: ClusterType; label: string }[] = [
  { id: 'hub', label: 'Hub' },
  { id: 'spoke', label: 'Spoke' },
  { id: 'edge', label: 'Edge' },
  { id: 'far_edge', label: 'Far edge' },
];

export type HealthState = 'unknown' | 'healthy' | 'degraded' | 'unreachable';

export interface ClusterStatus {
  state: HealthState;
  reason?: string | null;
  checked_at?: string | null;
  latency_ms?: number | null;
}

export interface Cluster {
  name: string;
  type: ClusterType;
  prometheus_url: string;
  alertmanager_url?: string | null;
  labels?: Record<string, string>;
  region?: string | null;
  status: ClusterStatus;
  capabilities: {
    prometheus?: { reachable?: boolean; version?: string | null };
    dcgm?: boolean;
    gpu_count?: number | null;
    alertmanager?: boolean;
    kube_state_metrics?: boolean;
  };
  credentials?: { type?: string; configured: boolean };
}

export interface Transition {
  from: HealthState;
  to: HealthState;
  reason?: string | null;
  at: string;
  latency_ms?: number | null;
}

export interface FleetSummary {
  clusters: { total: number; by_status: Record<HealthState, number>; by_type: Record<ClusterType, number> };
  gpus: number | null;
  firing_alerts: number | null;
}

export interface ClusterInput {
  name: string;
  type: ClusterType;
  prometheus_url: string;
  alertmanager_url?: string;
  region?: string;
  labels?: Record<string, string>;
}

export async function listClusters(): Promise<Cluster[]> {
  return (await request<{ items: Cluster[] }>('/api/v1/clusters?limit=1000')).body.items ?? [];
}

export async function fleetSummary(): Promise<FleetSummary> {
  return (await request<FleetSummary>('/api/v1/fleet/summary')).body;
}

export async function registerCluster(input: ClusterInput): Promise<Cluster> {
  return (await request<Cluster>('/api/v1/clusters', { method: 'POST', body: input })).body;
}

export async function deleteCluster(name: string): Promise<void> {
  await request<void>(`/api/v1/clusters/${seg(name)}`, { method: 'DELETE' });
}

export async function refreshCluster(name: string): Promise<Cluster> {
  return (await request<Cluster>(`/api/v1/clusters/${seg(name)}/refresh`, { method: 'POST' })).body;
}

export async function clusterHistory(name: string): Promise<Transition[]> {
  return (await request<{ history: Transition[] }>(`/api/v1/clusters/${seg(name)}/status`)).body.history ?? [];
}

/** Replaces a cluster's settings (PUT: what is left out is emptied; the name cannot change). */
export async function updateCluster(input: ClusterInput): Promise<Cluster> {
  const { name, ...rest } = input;
  return (await request<Cluster>(`/api/v1/clusters/${seg(name)}`, { method: 'PUT', body: { name, ...rest } })).body;
}

export interface ClusterStatusAnswer {
  cluster: string;
  status: ClusterStatus;
  history: Transition[];
}

export async function clusterStatus(name: string): Promise<ClusterStatusAnswer> {
  return (await request<ClusterStatusAnswer>(`/api/v1/clusters/${seg(name)}/status`)).body;
}

export async function getCluster(name: string): Promise<Cluster> {
  return (await request<Cluster>(`/api/v1/clusters/${seg(name)}`)).body;
}

// ---------------------------------------------------------------- alerts

export type AlertState = 'firing' | 'resolved';

export interface FleetAlert {
  cluster: string;
  fingerprint: string;
  state: AlertState;
  alertname?: string | null;
  severity?: string | null;
  namespace?: string | null;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  starts_at?: string | null;
  ends_at?: string | null;
  generator_url?: string | null;
  first_seen?: string | null;
  last_seen?: string | null;
  deliveries?: number;
  history?: { state: AlertState; at: string }[];
}

export interface AlertFilters {
  cluster?: string;
  severity?: string;
  state?: string;
  namespace?: string;
  /** Unix seconds: the last state change at or after. */
  since?: number;
  limit?: number;
}

export async function listAlerts(filters: AlertFilters = {}): Promise<{ alerts: FleetAlert[]; total: number }> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) {
    if (value !== undefined && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  const body = (await request<{ alerts: FleetAlert[]; total: number }>(`/api/v1/fleet/alerts${text ? `?${text}` : ''}`)).body;
  return { alerts: body.alerts ?? [], total: body.total ?? 0 };
}

/** The identity of an alert across deliveries. */
export const alertKey = (a: Pick<FleetAlert, 'cluster' | 'fingerprint'>) => `${a.cluster}/${a.fingerprint}`;

// ---------------------------------------------------------------- GPUs

/** How one cluster answered a federated question (`ok`, `error`, `timeout`, `skipped`). */
export interface ClusterAnswer {
  status: 'ok' | 'error' | 'timeout' | 'skipped';
  latency_ms?: number;
  error?: string;
}

export interface GpuNode {
  cluster: string;
  node: string;
  gpu_model: string;
  gpu_count: number;
  utilisation_pct: number | null;
  memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  temperature_c: number | null;
  power_w: number | null;
  xid_errors: number;
}

export interface GpuGroup {
  cluster: string;
  gpu_model: string;
  gpus: number;
  nodes: number;
  avg_utilisation_pct: number | null;
  memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  max_temperature_c: number | null;
  power_w: number | null;
  xid_errors: number;
}

export type GpuTotals = Omit<GpuGroup, 'cluster' | 'gpu_model'> & { clusters?: number };

interface Federated {
  clusters?: Record<string, ClusterAnswer>;
  warnings?: string[];
}
export interface GpuNodesAnswer extends Federated {
  nodes: GpuNode[];
}
export interface GpuSummaryAnswer extends Federated {
  groups: GpuGroup[];
  totals?: GpuTotals;
}

/** Thrown when no asked cluster answered (502): the body still says how each cluster failed. */
export class NoClusterAnswered extends Error {
  readonly answer: Federated;
  constructor(answer: Federated) {
    super(
      `No cluster answered: ${(answer.warnings ?? []).join('; ') || Object.entries(answer.clusters ?? {}).map(([c, a]) => `${c}: ${a.error ?? a.status}`).join('; ')}`,
    );
    this.name = 'NoClusterAnswered';
    this.answer = answer;
  }
}

/** A GPU view; a 502 (every asked cluster failed) comes back as `NoClusterAnswered`. */
async function gpuView<T extends Federated>(path: string): Promise<T> {
  try {
    return (await request<T>(path)).body;
  } catch (error) {
    if (error instanceof ApiError && error.status === 502) {
      let parsed: Federated | undefined;
      try {
        parsed = JSON.parse(error.message) as Federated;
      } catch {
        parsed = undefined;
      }
      if (parsed && typeof parsed === 'object') throw new NoClusterAnswered(parsed);
    }
    throw error;
  }
}

export const gpuNodes = () => gpuView<GpuNodesAnswer>('/api/v1/gpu/nodes');
export const gpuSummary = () => gpuView<GpuSummaryAnswer>('/api/v1/gpu/summary');
