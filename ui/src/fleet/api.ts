// The fleet's cluster registry (docs/user/fleet.md): clusters with their health and capabilities,
// the fleet summary, and the live event stream they change with.
import { request } from './http';

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

/** The live event stream of the cluster registry. */
export const CLUSTER_EVENTS_URL = '/api/v1/events?topics=clusters';
