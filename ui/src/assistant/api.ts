// The assistant's HTTP API (docs/user/assistant.md): the personas and whether a language model is
// configured, the caller's chat sessions with their stored messages, and one question's answer
// as a server-sent event stream (`POST …/stream`: EventSource cannot POST, so it is `fetch` with
// a streaming body read by `sse.ts`). Errors are the server's `{"message"}`.
import { ApiError, request } from '../api/http';
import { goToLogin, isAuthEnabled, renewAccessToken } from '../api/session';
import { parseEventStream, type ServerEvent } from './sse';

const seg = encodeURIComponent;
const BASE = '/api/v1/chat/sessions';

export interface Persona {
  id: string;
  name: string;
  description?: string | null;
  tools: string[];
  builtin: boolean;
}

export interface Personas {
  personas: Persona[];
  llm: { configured: boolean; model?: string | null };
}

export interface Session {
  id: string;
  title?: string | null;
  persona: string;
  owner?: string | null;
  created_at: string;
  updated_at: string;
  message_count: number;
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text as the model wrote it (may be invalid JSON). */
  arguments: string;
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export interface ChatError {
  code: string;
  message: string;
}

export interface Message {
  id: string;
  role: 'user' | 'assistant' | 'tool' | 'system';
  content: string | null;
  tool_calls?: ToolCall[] | null;
  tool_call_id?: string | null;
  name?: string | null;
  created_at?: string;
  usage?: Usage | null;
  error?: ChatError | null;
}

export interface SessionWithMessages extends Session {
  messages: Message[];
}

export const listPersonas = async (): Promise<Personas> => (await request<Personas>('/api/v1/personas')).body;

export const listSessions = async (): Promise<Session[]> => (await request<{ sessions: Session[] }>(BASE)).body.sessions ?? [];

export const createSession = async (persona: string): Promise<Session> =>
  (await request<Session>(BASE, { method: 'POST', body: { persona } })).body;

export const getSession = async (id: string, signal?: AbortSignal): Promise<SessionWithMessages> =>
  (await request<SessionWithMessages>(`${BASE}/${seg(id)}`, { signal })).body;

export const deleteSession = async (id: string): Promise<void> => {
  await request<void>(`${BASE}/${seg(id)}`, { method: 'DELETE' });
};

/** `event: tool_call`: a tool starts (its arguments as an object, or the model's text). */
export interface ToolCallEvent {
  id: string;
  name: string;
  arguments: unknown;
}

/** `event: tool_result`: what the tool answered, after the output budget. */
export interface ToolResultEvent {
  id: string;
  name: string;
  ok: boolean;
  summary?: string | null;
  truncated?: boolean;
  content?: unknown;
  error?: string | null;
}

export interface DoneEvent {
  usage?: Usage | null;
  rounds?: number;
}

/** The events of one answer, in the order the server sends them. */
export type ChatEvent =
  | { type: 'user_message'; data: Message }
  | { type: 'delta'; data: { content: string } }
  | { type: 'tool_call'; data: ToolCallEvent }
  | { type: 'tool_result'; data: ToolResultEvent }
  | { type: 'message'; data: Message }
  | { type: 'error'; data: ChatError }
  | { type: 'done'; data: DoneEvent };

const KNOWN = new Set(['user_message', 'delta', 'tool_call', 'tool_result', 'message', 'error', 'done']);

function toChatEvent(event: ServerEvent): ChatEvent | undefined {
  if (!KNOWN.has(event.event)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object') return undefined;
  return { type: event.event, data } as ChatEvent;
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    return new ApiError(response.status, typeof parsed.message === 'string' ? parsed.message : text);
  } catch {
    return new ApiError(response.status, `${response.status}: ${text.trim() || response.statusText || 'no message'}`);
  }
}

function post(path: string, content: string, signal: AbortSignal): Promise<Response> {
  return fetch(path, {
    method: 'POST',
    headers: { Accept: 'text/event-stream', 'Content-Type': 'application/json' },
    body: JSON.stringify({ content }),
    signal,
    credentials: 'same-origin',
  });
}

/**
 * Asks `content` in session `id` and calls `onEvent` for every event of the answer as it arrives;
 * resolves when the server ends the stream. `signal` stops it (the promise then rejects with an
 * AbortError). A 401 renews the session once and asks again, as `http.ts` does.
 */
export async function streamAnswer(id: string, content: string, signal: AbortSignal, onEvent: (event: ChatEvent) => void): Promise<void> {
  const path = `${BASE}/${seg(id)}/stream`;
  let response: Response;
  try {
    response = await post(path, content, signal);
    if (response.status === 401 && isAuthEnabled()) {
      if (await renewAccessToken()) response = await post(path, content, signal);
      if (response.status === 401) {
        const refused = await errorOf(response);
        goToLogin();
        throw new ApiError(401, `Your session has ended; log in again. (${refused.message})`);
      }
    }
  } catch (cause) {
    if (cause instanceof ApiError || (cause instanceof DOMException && cause.name === 'AbortError')) throw cause;
    throw new ApiError(0, `Pharos did not answer (${String(cause)}); check that the server is running.`);
  }
  if (!response.ok) throw await errorOf(response);
  if (!response.body) throw new ApiError(response.status, 'The answer has no body to stream.');
  for await (const event of parseEventStream(response.body)) {
    const chatEvent = toChatEvent(event);
    if (chatEvent) onEvent(chatEvent);
  }
}
