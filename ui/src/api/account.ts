// Calls about the logged-in user's own things and what they may do (docs/user/authentication.md):
// permissions, preferences, the audit log, and dashboard share links.
import type { DashboardResource } from '@perses-dev/core';
import { request } from './http';

const seg = encodeURIComponent;

/** One grant: actions on resource kinds (scopes); `*` stands for every one. */
export interface Permission {
  actions: string[];
  scopes: string[];
}

/** `{"*": global grants, "<project>": grants in that project}`. */
export type Permissions = Record<string, Permission[]>;

export async function getPermissions(user: string): Promise<Permissions> {
  return (await request<Permissions>(`/api/v1/users/${seg(user)}/permissions`)).body ?? {};
}

/** Whether `permissions` allow `action` on `scope`, in `project` (or only globally without one). */
export function allows(permissions: Permissions | undefined, action: string, scope: string, project?: string): boolean {
  if (!permissions) return false;
  const grants = [...(permissions['*'] ?? []), ...(project !== undefined ? (permissions[project] ?? []) : [])];
  return grants.some(
    (g) => (g.actions.includes(action) || g.actions.includes('*')) && (g.scopes.includes(scope) || g.scopes.includes('*')),
  );
}

/** A dashboard named by project and name. */
export interface DashboardRef {
  project: string;
  dashboard: string;
}

/** The user's preferences, applied on every device they log in from. */
export interface Preferences {
  /** `browser`, `UTC` or an IANA zone such as `Europe/Paris`. */
  timezone: string;
  theme: 'system' | 'light' | 'dark';
  /** `""` (off) or a duration such as `30s`. */
  refresh_interval: string;
  /** A duration back from now, such as `1h`. */
  time_range: string;
  home_dashboard: DashboardRef | null;
  favourites: DashboardRef[];
}

export const DEFAULT_PREFERENCES: Preferences = {
  timezone: 'browser',
  theme: 'system',
  refresh_interval: '',
  time_range: '1h',
  home_dashboard: null,
  favourites: [],
};

export async function getPreferences(): Promise<Preferences> {
  return { ...DEFAULT_PREFERENCES, ...(await request<Partial<Preferences>>('/api/v1/preferences')).body };
}

export async function putPreferences(preferences: Preferences): Promise<Preferences> {
  return { ...DEFAULT_PREFERENCES, ...(await request<Partial<Preferences>>('/api/v1/preferences', { method: 'PUT', body: preferences })).body };
}

/** One audit log entry. */
export interface AuditEntry {
  seq: number;
  time: string;
  requestId: string;
  user: string;
  action: string;
  resource: string;
  project: string;
  name: string;
  result: string;
  status: number;
  clientIp: string;
  detail: unknown;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor?: number | string | null;
}

export interface AuditFilter {
  user?: string;
  action?: string;
  project?: string;
  resource?: string;
}

/** One page of the audit log, newest first; `cursor` is the previous page's `nextCursor`. */
export async function getAuditLog(filter: AuditFilter, cursor?: number | string, limit = 50): Promise<AuditPage> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) {
    if (value && value.trim()) params.set(key, value.trim());
  }
  params.set('limit', String(limit));
  if (cursor !== undefined && cursor !== null) params.set('cursor', String(cursor));
  const body = (await request<AuditPage>(`/api/v1/audit/logs?${params.toString()}`)).body;
  return { entries: body?.entries ?? [], nextCursor: body?.nextCursor ?? null };
}

/** A relative (`{"pastDuration"}`) or absolute (`{"start","end"}`, RFC 3339) time range. */
export type SharedTimeRange = { pastDuration: string } | { start: string; end: string };

/** The values of a dashboard's variables as shared. */
export type SharedVariables = Record<string, string | string[]>;

export interface NewShare {
  expires_in: number;
  ip_restrictions: string[];
  variables: SharedVariables;
  time_range: SharedTimeRange;
}

export interface CreatedShare {
  token_id: string;
  share_url: string;
  expires_at: string;
}

export interface ShareLink {
  token_id: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  variables: SharedVariables | null;
  time_range: SharedTimeRange | null;
  ip_restrictions: string[] | null;
}

const sharePath = (project: string, dashboard: string) =>
  `/api/v1/projects/${seg(project)}/dashboards/${seg(dashboard)}/share`;

export async function createShare(project: string, dashboard: string, share: NewShare): Promise<CreatedShare> {
  return (await request<CreatedShare>(sharePath(project, dashboard), { method: 'POST', body: share })).body;
}

export async function listShares(project: string, dashboard: string): Promise<ShareLink[]> {
  return (await request<ShareLink[]>(sharePath(project, dashboard))).body ?? [];
}

export async function revokeShare(project: string, dashboard: string, tokenId: string): Promise<void> {
  await request<void>(`${sharePath(project, dashboard)}/${seg(tokenId)}`, { method: 'DELETE' });
}

/** What a share link opens (anonymous). */
export interface SharedView {
  dashboard: DashboardResource;
  variables: SharedVariables | null;
  time_range: SharedTimeRange | null;
  expires_at: string | null;
}

export async function openShared(token: string): Promise<SharedView> {
  return (await request<SharedView>(`/api/v1/shared/${seg(token)}`, { anonymous: true })).body;
}
