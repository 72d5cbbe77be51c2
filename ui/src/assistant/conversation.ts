// What a conversation shows, built from its stored messages and the events of the answer being
// streamed: the user's questions, the assistant's answers, one card per tool call with its result
// (the tool message that answers it, or the stream's `tool_result`), and error rows. No React here.
import type { ChatError, Message, ToolCallEvent, ToolResultEvent, Usage } from './api';

export interface ToolResult {
  ok: boolean;
  summary?: string;
  truncated: boolean;
  /** What the output budget cut, in words. */
  cutNotes?: string[];
  error?: string;
  /** The result as JSON (or the tool message's text when it is not JSON). */
  content: unknown;
}

export type Item =
  | { kind: 'user'; id: string; text: string; pending?: boolean }
  | { kind: 'assistant'; id: string; text: string; usage?: Usage | null }
  | { kind: 'tool'; id: string; name: string; arguments: unknown; result?: ToolResult }
  | { kind: 'error'; id: string; code: string; message: string };

/** A tool call's arguments as a value: JSON text parsed when it parses, else the text itself. */
export function parseArguments(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * A stored tool message's result. Its content is the (budgeted) result as JSON text: on failure
 * `{"error": …, "code": …}`; when the budget cut it, what was cut is said in `_cut`. (Should it
 * carry the stream's own fields, `ok`, `summary`, `truncated`, they are used.)
 */
export function toolResultOf(message: Message): ToolResult {
  const text = message.content ?? '';
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text: shown as it is.
  }
  if (!isObject(parsed)) return { ok: true, truncated: false, summary: describe(parsed), content: parsed };
  const error = typeof parsed.error === 'string' ? parsed.error : isObject(parsed.error) && typeof parsed.error.message === 'string' ? parsed.error.message : undefined;
  const ok = typeof parsed.ok === 'boolean' ? parsed.ok : error === undefined;
  const envelope = typeof parsed.ok === 'boolean' && 'content' in parsed;
  const content = envelope ? parsed.content : parsed;
  const cut = isObject(content) && Array.isArray(content._cut) ? content._cut.filter((n): n is string => typeof n === 'string') : [];
  return {
    ok,
    summary: typeof parsed.summary === 'string' ? parsed.summary : ok ? describe(content) : error,
    truncated: parsed.truncated === true || cut.length > 0,
    cutNotes: cut.length > 0 ? cut : undefined,
    error,
    content,
  };
}

/** A stored result in a few words (the stream's summary line is not stored). */
function describe(content: unknown): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  if (Array.isArray(content)) return count(content.length, 'item');
  if (isObject(content)) {
    const kind = typeof content.resultType === 'string' ? ` (${content.resultType})` : '';
    if (typeof content.series_count === 'number') return `${content.series_count} series${kind}`;
    if (Array.isArray(content.result)) return `${content.result.length} series${kind}`;
    const arrays = Object.entries(content).filter(([key, value]) => key !== '_cut' && Array.isArray(value));
    if (arrays.length === 1) return `${(arrays[0][1] as unknown[]).length} ${arrays[0][0]}`;
  }
  return 'Result';
}

export function toolResultFromEvent(event: ToolResultEvent): ToolResult {
  const cut = isObject(event.content) && Array.isArray(event.content._cut) ? event.content._cut.filter((n): n is string => typeof n === 'string') : [];
  return {
    ok: event.ok,
    summary: event.summary ?? undefined,
    truncated: event.truncated === true,
    cutNotes: cut.length > 0 ? cut : undefined,
    error: event.error ?? undefined,
    content: event.content,
  };
}

export interface LiveTurn {
  /** Tool calls the stream announced, in order (before or after their stored message). */
  tools: ToolCallEvent[];
  /** The text streamed since the last stored assistant message. */
  streaming: string;
}

/**
 * The items of `messages`, then the live turn's tool calls not stored yet. `results` are the
 * stream's tool results by call id (they win over the stored ones: same result, more fields);
 * `usage` the turn usage by final message id.
 */
export function buildItems(messages: Message[], results: Map<string, ToolResultEvent>, usage: Map<string, Usage>, live?: LiveTurn): Item[] {
  const items: Item[] = [];
  const tools = new Map<string, Extract<Item, { kind: 'tool' }>>();
  const addTool = (id: string, name: string, args: unknown) => {
    if (tools.has(id)) return;
    const result = results.get(id);
    const item: Extract<Item, { kind: 'tool' }> = { kind: 'tool', id, name, arguments: parseArguments(args), result: result ? toolResultFromEvent(result) : undefined };
    tools.set(id, item);
    items.push(item);
  };
  // The tokens of a turn: every model call since the question (each stored assistant message
  // carries its own call's usage).
  let turn: Usage | undefined;
  const addUsage = (more: Usage | null | undefined) => {
    if (!more) return;
    turn = {
      prompt_tokens: (turn?.prompt_tokens ?? 0) + (more.prompt_tokens ?? 0),
      completion_tokens: (turn?.completion_tokens ?? 0) + (more.completion_tokens ?? 0),
      total_tokens: (turn?.total_tokens ?? 0) + (more.total_tokens ?? 0),
    };
  };
  for (const message of messages) {
    if (message.role === 'user') {
      turn = undefined;
      items.push({ kind: 'user', id: message.id, text: message.content ?? '', pending: message.id.startsWith('pending-') });
    } else if (message.role === 'assistant') {
      const calls = message.tool_calls ?? [];
      addUsage(message.usage);
      // A turn that could not reach a model stores why as its text, and as its error: one row.
      const sameAsError = message.error !== undefined && message.error !== null && message.content?.trim() === message.error.message.trim();
      if (message.content && message.content.trim() !== '' && !sameAsError) {
        items.push({ kind: 'assistant', id: message.id, text: message.content, usage: usage.get(message.id) ?? (calls.length === 0 ? turn : undefined) });
      }
      for (const call of calls) addTool(call.id, call.name, call.arguments);
      if (message.error) items.push({ kind: 'error', id: `${message.id}-error`, code: message.error.code, message: message.error.message });
    } else if (message.role === 'tool') {
      const id = message.tool_call_id ?? message.id;
      if (!tools.has(id)) addTool(id, message.name ?? 'tool', undefined);
      const item = tools.get(id);
      if (item && !results.has(id)) item.result = toolResultOf(message);
    }
  }
  for (const call of live?.tools ?? []) addTool(call.id, call.name, call.arguments);
  return items;
}

/** A local error row (not stored by the server) in the shape of a message. */
export function errorMessage(id: string, error: ChatError): Message {
  return { id, role: 'assistant', content: null, error };
}

/** Total tokens of a usage, written small ("1,234 tokens: 1,000 prompt + 234 completion"). */
export function usageText(usage: Usage): string {
  const n = (value: number | undefined) => (value ?? 0).toLocaleString('en-US');
  const total = usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0);
  return `${n(total)} tokens: ${n(usage.prompt_tokens)} prompt + ${n(usage.completion_tokens)} completion`;
}
