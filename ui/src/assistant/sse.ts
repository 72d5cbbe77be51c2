// A server-sent events parser over a fetch body (the HTML "event stream" format): events are
// separated by a blank line; `event:` names one, `data:` lines are joined with newlines, lines
// starting with `:` are comments (keep-alives), `id:` and `retry:` are ignored (nothing reconnects:
// one POST is one answer). CR, LF and CRLF all end a line.

export interface ServerEvent {
  /** `message` when the event names none. */
  event: string;
  data: string;
}

/** Splits text into events; keeps the unfinished tail for the next piece. */
export class EventStreamParser {
  private buffer = '';
  private eventName = '';
  private data: string[] = [];

  /** Feeds a piece of the stream; returns the events it completed. */
  push(text: string): ServerEvent[] {
    this.buffer += text;
    const events: ServerEvent[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) break;
      // A lone CR at the end may be the first half of a CRLF: wait for the next piece.
      if (match[0] === '\r' && match.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** The end of the stream: an event without its blank line is still delivered. */
  end(): ServerEvent[] {
    const events = this.buffer ? this.push('\n') : [];
    const last = this.line('');
    return last ? [...events, last] : events;
  }

  private line(line: string): ServerEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.eventName = '';
        return undefined;
      }
      const event = { event: this.eventName || 'message', data: this.data.join('\n') };
      this.eventName = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') this.data.push(value);
    return undefined;
  }
}

/** The events of a response body, each as soon as its blank line arrived. */
export async function* parseEventStream(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new EventStreamParser();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    reader.releaseLock();
  }
}
