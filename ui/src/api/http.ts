// The one place that talks HTTP to the Pharos API: JSON in and out, ETags, and errors that carry
// the server's own message (every Pharos error body is `{"message": "...", "errors"?: [...]}`).
// A call refused with 401 renews the session once and is sent again; when the session cannot be
// renewed the user goes to the login page (session.ts).
import { takeEarlyLoad } from './early';
import { goToLogin, isAuthEnabled, renewAccessToken } from './session';

/** One problem reported by server-side validation, with the JSON path it concerns. */
export interface FieldProblem {
  path: string;
  message: string;
}

/** A failed API call: the HTTP status and the server's message, ready to show to the user. */
export class ApiError extends Error {
  readonly status: number;
  readonly problems: FieldProblem[];

  constructor(status: number, message: string, problems: FieldProblem[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.problems = problems;
  }

  /** True for the optimistic-concurrency refusals (412 stale ETag, 409 stale version). */
  get isConflict(): boolean {
    return this.status === 412 || this.status === 409;
  }
}

/** A JSON body together with the ETag the server sent for it (absent on lists). */
export interface Tagged<T> {
  body: T;
  etag?: string;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  ifMatch?: string;
  signal?: AbortSignal;
  /** For the login and session calls themselves: a 401 is the answer, not a lost session. */
  anonymous?: boolean;
}

async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { message?: unknown; errors?: unknown };
    const message = typeof parsed.message === 'string' ? parsed.message : text;
    const problems = Array.isArray(parsed.errors) ? (parsed.errors as FieldProblem[]) : [];
    return new ApiError(response.status, message, problems);
  } catch {
    // Not JSON: a proxy in front of Pharos or a crash; show what we got.
    const fallback = text.trim() || response.statusText || 'no message';
    return new ApiError(response.status, `${response.status}: ${fallback}`);
  }
}

async function send(path: string, options: RequestOptions): Promise<Response> {
  const early = options.method === undefined && options.body === undefined && options.ifMatch === undefined;
  const earlyAnswer = early ? takeEarlyLoad(path) : undefined;
  if (earlyAnswer !== undefined) {
    // A failed early call is simply sent again below.
    const answer = await earlyAnswer.catch(() => undefined);
    if (answer !== undefined) return answer;
  }
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.ifMatch !== undefined) headers['If-Match'] = options.ifMatch;
  try {
    return await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      // The session cookies; same-origin is fetch's default, said here so nobody changes it.
      credentials: 'same-origin',
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === 'AbortError') throw cause;
    throw new ApiError(0, `Pharos did not answer (${String(cause)}); check that the server is running.`);
  }
}

/** Sends one request; resolves with the successful response (any other status throws its ApiError). */
async function checked(path: string, options: RequestOptions): Promise<Response> {
  let response = await send(path, options);
  if (response.status === 401 && isAuthEnabled() && !options.anonymous) {
    // The access token expired (or the cookies are gone): renew once and try again.
    if (await renewAccessToken()) response = await send(path, options);
    if (response.status === 401) {
      const refused = await errorFrom(response);
      goToLogin();
      throw new ApiError(401, `Your session has ended; log in again. (${refused.message})`);
    }
  }
  if (!response.ok) throw await errorFrom(response);
  return response;
}

/** Sends one request; resolves with the parsed JSON (or undefined for 204) and the ETag. */
export async function request<T>(path: string, options: RequestOptions = {}): Promise<Tagged<T>> {
  const response = await checked(path, options);
  const etag = response.headers.get('ETag') ?? undefined;
  if (response.status === 204) return { body: undefined as T, etag };
  return { body: (await response.json()) as T, etag };
}

/** A file the server sends for download: its bytes and the name its Content-Disposition gives. */
export interface Download {
  blob: Blob;
  filename?: string;
}

/** Fetches a download (same session handling and errors as `request`). */
export async function download(path: string): Promise<Download> {
  const response = await checked(path, {});
  const disposition = response.headers.get('Content-Disposition') ?? '';
  const filename = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  return { blob: await response.blob(), filename };
}

/** Turns any thrown value into a message fit for the user. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    const details = error.problems.map((p) => `${p.path}: ${p.message}`);
    return details.length > 0 ? `${error.message} (${details.join('; ')})` : error.message;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
