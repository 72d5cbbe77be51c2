// Typed calls to the Pharos resource API (docs/user/api.md). Pages use these, never `fetch`.
import type {
  DashboardResource,
  DatasourceResource,
  GlobalDatasourceResource,
  Metadata,
} from '@perses-dev/core';
import { request, type Tagged } from './http';

/** A Pharos project: Perses's project plus the tenant namespaces it may see. */
export interface ProjectResource {
  kind: 'Project';
  metadata: Metadata;
  spec: { display?: { name?: string; description?: string }; namespaces?: string[] };
}

/** One entry of a dashboard's history, newest first. */
export interface DashboardVersion {
  version: number;
  updatedAt: string;
  current: boolean;
}

/** A deleted dashboard (metadata only) with the times it was deleted and will be purged. */
export interface TrashedDashboard {
  kind: 'Dashboard';
  metadata: Metadata & { project: string };
  trash: { deletedAt: string; purgeAt: string };
}

const seg = encodeURIComponent;
const projectPath = (project: string) => `/api/v1/projects/${seg(project)}`;
const dashboardPath = (project: string, name: string) =>
  `${projectPath(project)}/dashboards/${seg(name)}`;

export async function listProjects(): Promise<ProjectResource[]> {
  return (await request<ProjectResource[]>('/api/v1/projects')).body;
}

export async function getProject(project: string): Promise<ProjectResource> {
  return (await request<ProjectResource>(projectPath(project))).body;
}

export async function createProject(project: ProjectResource): Promise<ProjectResource> {
  return (await request<ProjectResource>('/api/v1/projects', { method: 'POST', body: project })).body;
}

/** Dashboards of a project without their specs (fast, for lists). */
export async function listDashboards(project: string): Promise<DashboardResource[]> {
  return (await request<DashboardResource[]>(`${projectPath(project)}/dashboards?metadata_only=true`)).body;
}

/** A dashboard and the ETag to send back when saving it. */
export function getDashboard(project: string, name: string): Promise<Tagged<DashboardResource>> {
  return request<DashboardResource>(dashboardPath(project, name));
}

export function createDashboard(project: string, dashboard: DashboardResource): Promise<Tagged<DashboardResource>> {
  return request<DashboardResource>(`${projectPath(project)}/dashboards`, { method: 'POST', body: dashboard });
}

/**
 * Saves a dashboard only if nobody saved it since `etag` was read: the server answers 412
 * (or 409 for an older `metadata.version`) instead of overwriting.
 */
export function updateDashboard(
  project: string,
  name: string,
  dashboard: DashboardResource,
  etag: string | undefined,
): Promise<Tagged<DashboardResource>> {
  return request<DashboardResource>(dashboardPath(project, name), { method: 'PUT', body: dashboard, ifMatch: etag });
}

export async function deleteDashboard(project: string, name: string, etag?: string): Promise<void> {
  await request<void>(dashboardPath(project, name), { method: 'DELETE', ifMatch: etag });
}

export async function listVersions(project: string, name: string): Promise<DashboardVersion[]> {
  return (await request<DashboardVersion[]>(`${dashboardPath(project, name)}/versions`)).body;
}

export async function getVersion(project: string, name: string, version: number): Promise<DashboardResource> {
  return (await request<DashboardResource>(`${dashboardPath(project, name)}/versions/${version}`)).body;
}

export async function restoreVersion(project: string, name: string, version: number): Promise<DashboardResource> {
  const path = `${dashboardPath(project, name)}/versions/${version}/restore`;
  return (await request<DashboardResource>(path, { method: 'POST' })).body;
}

export async function listTrash(project: string): Promise<TrashedDashboard[]> {
  return (await request<TrashedDashboard[]>(`${projectPath(project)}/trash/dashboards`)).body;
}

export async function restoreFromTrash(project: string, name: string): Promise<DashboardResource> {
  const path = `${projectPath(project)}/trash/dashboards/${seg(name)}/restore`;
  return (await request<DashboardResource>(path, { method: 'POST' })).body;
}

export async function purgeFromTrash(project: string, name: string): Promise<void> {
  await request<void>(`${projectPath(project)}/trash/dashboards/${seg(name)}`, { method: 'DELETE' });
}

/** Checks a dashboard without storing it; rejects with the server's validation problems. */
export async function validateDashboard(dashboard: unknown): Promise<void> {
  await request<void>('/api/validate/dashboards', { method: 'POST', body: dashboard });
}

function datasourceQuery(pluginKind?: string, onlyDefault?: boolean): string {
  const params = new URLSearchParams();
  if (pluginKind) params.set('kind', pluginKind);
  if (onlyDefault) params.set('default', 'true');
  const text = params.toString();
  return text ? `?${text}` : '';
}

export async function listDatasources(project: string, pluginKind?: string): Promise<DatasourceResource[]> {
  const path = `${projectPath(project)}/datasources${datasourceQuery(pluginKind)}`;
  return (await request<DatasourceResource[]>(path)).body;
}

export async function listGlobalDatasources(pluginKind?: string): Promise<GlobalDatasourceResource[]> {
  return (await request<GlobalDatasourceResource[]>(`/api/v1/globaldatasources${datasourceQuery(pluginKind)}`)).body;
}
