// Calls about who is logged in (docs/user/authentication.md): the server's config, the current
// user, logging in and out.
import type { Metadata } from '@perses-dev/core';
import { request } from './http';

/** The part of `/api/config` the UI reads. */
export interface ServerConfig {
  security?: { enable_auth?: boolean };
}

/** The caller's `User` resource (never with the password). */
export interface UserResource {
  kind: 'User';
  metadata: Metadata;
  spec: Record<string, unknown>;
}

/** Where the server ends the session; it clears the cookies and redirects to `/`. */
export const LOGOUT_PATH = '/api/auth/logout';

/** `/api/config` (anonymous). */
export async function getConfig(): Promise<ServerConfig> {
  return (await request<ServerConfig>('/api/config', { anonymous: true })).body;
}

/** The logged-in user; a lost session leads to the login page (http.ts). */
export async function whoami(): Promise<UserResource> {
  return (await request<UserResource>('/api/v1/user/whoami')).body;
}

/**
 * Logs in with the native provider; the server sets the session cookies. Rejects with the
 * server's message ("wrong login or password") when it refuses.
 */
export async function logIn(login: string, password: string): Promise<void> {
  await request<unknown>('/api/auth/providers/native/login', {
    method: 'POST',
    body: { login, password },
    anonymous: true,
  });
}
