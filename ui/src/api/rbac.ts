// Calls about who may do what in a project (docs/user/roles.md): its roles and role bindings, the
// users a binding can name, and the login providers `/api/config` reports for the login page.
import type { Metadata } from '@perses-dev/core';
import type { Permission } from './account';
import type { ServerConfig } from './auth';
import { request } from './http';

const seg = encodeURIComponent;

/** The actions a permission can list (`share`: create and revoke share links, a Pharos action). */
export const ACTIONS = ['read', 'create', 'update', 'delete', 'share', '*'] as const;

/** The kinds a project role can grant (the global kinds belong to global roles only). */
export const PROJECT_SCOPES = [
  'Dashboard',
  'Datasource',
  'EphemeralDashboard',
  'Folder',
  'Project',
  'Role',
  'RoleBinding',
  'Secret',
  'Variable',
  '*',
] as const;

export interface RoleResource {
  kind: 'Role';
  metadata: Metadata & { project?: string };
  spec: { permissions: Permission[] };
}

export interface Subject {
  kind: 'User';
  name: string;
}

export interface RoleBindingResource {
  kind: 'RoleBinding';
  metadata: Metadata & { project?: string };
  spec: { role: string; subjects: Subject[] };
}

/** A user as `/api/v1/users` lists it (never with the password). */
export interface UserSummary {
  kind: 'User';
  metadata: Metadata;
}

/** "read on *", "*, share on Dashboard, Datasource": one permission in words. */
export function describePermission(permission: Permission): string {
  return `${permission.actions.join(', ')} on ${permission.scopes.join(', ')}`;
}

const rolesPath = (project: string) => `/api/v1/projects/${seg(project)}/roles`;
const bindingsPath = (project: string) => `/api/v1/projects/${seg(project)}/rolebindings`;

export async function listRoles(project: string): Promise<RoleResource[]> {
  return (await request<RoleResource[]>(rolesPath(project))).body ?? [];
}

export async function createRole(project: string, role: RoleResource): Promise<RoleResource> {
  return (await request<RoleResource>(rolesPath(project), { method: 'POST', body: role })).body;
}

/** Replaces a role; the `metadata.version` read with it makes the server refuse (409) a stale edit. */
export async function updateRole(project: string, role: RoleResource): Promise<RoleResource> {
  const path = `${rolesPath(project)}/${seg(role.metadata.name)}`;
  return (await request<RoleResource>(path, { method: 'PUT', body: role })).body;
}

export async function deleteRole(project: string, name: string): Promise<void> {
  await request<void>(`${rolesPath(project)}/${seg(name)}`, { method: 'DELETE' });
}

export async function listRoleBindings(project: string): Promise<RoleBindingResource[]> {
  return (await request<RoleBindingResource[]>(bindingsPath(project))).body ?? [];
}

/** Creates a binding; the server refuses (400, with a message) a role the project does not have. */
export async function createRoleBinding(project: string, binding: RoleBindingResource): Promise<RoleBindingResource> {
  return (await request<RoleBindingResource>(bindingsPath(project), { method: 'POST', body: binding })).body;
}

export async function updateRoleBinding(project: string, binding: RoleBindingResource): Promise<RoleBindingResource> {
  const path = `${bindingsPath(project)}/${seg(binding.metadata.name)}`;
  return (await request<RoleBindingResource>(path, { method: 'PUT', body: binding })).body;
}

export async function deleteRoleBinding(project: string, name: string): Promise<void> {
  await request<void>(`${bindingsPath(project)}/${seg(name)}`, { method: 'DELETE' });
}

/** Every user's name (needs `read` on `User`, which administrators have). */
export async function listUserNames(): Promise<string[]> {
  const users = (await request<UserSummary[]>('/api/v1/users')).body ?? [];
  return users.map((u) => u.metadata.name).sort((a, b) => a.localeCompare(b));
}

/** An external identity provider (OIDC or OAuth 2.0) as `/api/config` names it; no secrets. */
export interface ExternalProvider {
  slug_id: string;
  name: string;
}

/** `security.authentication.providers` of `/api/config` (Perses' shape). */
export interface AuthProviders {
  enable_native?: boolean;
  oidc?: ExternalProvider[];
  oauth?: ExternalProvider[];
  /** `auth: kubernetes`: the cluster's OAuth proxy in front of Pharos passes the user's token. */
  kubernetes?: { enable?: boolean };
}

/** The login providers in a config; a server that does not report them has the native one only. */
export function providersOf(config: ServerConfig): Required<AuthProviders> {
  const security = config.security as { authentication?: { providers?: AuthProviders } } | undefined;
  const providers = security?.authentication?.providers;
  return {
    enable_native: providers?.enable_native ?? true,
    oidc: providers?.oidc ?? [],
    oauth: providers?.oauth ?? [],
    kubernetes: { enable: providers?.kubernetes?.enable === true },
  };
}

/** Where a provider's login starts: the server redirects to the provider and back, then to `returnTo`. */
export function providerLoginPath(kind: 'oidc' | 'oauth', slug: string, returnTo: string): string {
  return `/api/auth/providers/${kind}/${seg(slug)}/login?rd=${encodeURIComponent(returnTo)}`;
}
