// One chat session: its stored conversation, then the answer being streamed — the question at once,
// each tool call as a card as soon as it starts (its result when it arrives), the answer's text
// piece by piece — with Stop, the turn's token usage in small print, and error rows for an answer
// that failed (the session stays usable). Enter sends, Shift+Enter starts a new line; the input
// waits while an answer streams, and is off when no language model is configured.
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import CircularProgress from '@mui/material/CircularProgress';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { AlertCircleOutline as AlertCircleOutlineIcon, Send as SendIcon, Stop as StopIcon } from 'mdi-material-ui';
import { ApiError, messageOf } from '../api/http';
import { ErrorNotice } from '../components/ErrorNotice';
import { PageLoading } from '../components/Layout';
import { getSession, streamAnswer, type ChatEvent, type Message, type Persona, type Session, type SessionWithMessages, type ToolCallEvent, type ToolResultEvent, type Usage } from './api';
import { buildItems, errorMessage, usageText, type Item } from './conversation';
import { sessionTitle } from './format';
import { Markdown } from './Markdown';
import { ToolCard } from './ToolCard';

interface ChatProps {
  sessionId: string;
  /** The session as the list has it now (its title is set by the first question). */
  listed?: Session;
  personas: Persona[];
  /** False when no language model is configured (the personas answer says so). */
  llmConfigured: boolean;
  /** A question to ask as soon as the session is loaded (the first of a chat started without one). */
  initialQuestion?: string;
  onInitialQuestionTaken: () => void;
  /** The stream told that no model is configured. */
  onLlmMissing: () => void;
  /** Something changed the session list's view of this session (title, time, count). */
  onChanged: () => void;
}

interface LiveTurn {
  tools: ToolCallEvent[];
  streaming: string;
}

let localIds = 0;
const localId = (prefix: string) => `${prefix}-${++localIds}`;

/** Adds or replaces (same id) a message. */
const upsert = (messages: Message[], message: Message): Message[] =>
  messages.some((m) => m.id === message.id) ? messages.map((m) => (m.id === message.id ? message : m)) : [...messages, message];

export function Chat({ sessionId, listed, personas, llmConfigured, initialQuestion, onInitialQuestionTaken, onLlmMissing, onChanged }: ChatProps) {
  const [session, setSession] = useState<SessionWithMessages>();
  const [loadError, setLoadError] = useState<unknown>();
  const [messages, setMessages] = useState<Message[]>([]);
  const [results, setResults] = useState<Map<string, ToolResultEvent>>(() => new Map());
  const [usage, setUsage] = useState<Map<string, Usage>>(() => new Map());
  const [live, setLive] = useState<LiveTurn>();
  const [input, setInput] = useState('');
  const abort = useRef<AbortController>();
  const streamingText = useRef('');
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    setSession(undefined);
    setLoadError(undefined);
    getSession(sessionId, controller.signal).then(
      (loaded) => {
        setSession(loaded);
        setMessages(loaded.messages ?? []);
      },
      (error: unknown) => {
        if (!controller.signal.aborted) setLoadError(error);
      },
    );
    return () => controller.abort();
  }, [sessionId, generation]);

  // Leaving the session (or the page) stops its answer.
  useEffect(() => () => abort.current?.abort(), []);

  const send = useCallback(
    async (question: string) => {
      const text = question.trim();
      if (text === '' || abort.current) return;
      const controller = new AbortController();
      abort.current = controller;
      const pendingId = localId('pending-user');
      streamingText.current = '';
      setMessages((m) => [...m, { id: pendingId, role: 'user', content: text }]);
      setLive({ tools: [], streaming: '' });
      setInput('');
      let finalAnswer: string | undefined;
      let finished = false;
      let lastError: string | undefined;
      // Error rows of this turn not stored by the server (yet): a stored message with the same
      // error replaces its row.
      const localErrors = new Map<string, string>();
      const pushError = (code: string, message: string) => {
        const id = localId('local-error');
        localErrors.set(code, id);
        setMessages((m) => [...m, errorMessage(id, { code, message })]);
      };
      const onEvent = (event: ChatEvent) => {
        switch (event.type) {
          case 'user_message':
            setMessages((m) => (m.some((x) => x.id === pendingId) ? m.map((x) => (x.id === pendingId ? event.data : x)) : upsert(m, event.data)));
            break;
          case 'delta':
            if (typeof event.data.content !== 'string') break;
            streamingText.current += event.data.content;
            setLive((l) => l && { ...l, streaming: streamingText.current });
            break;
          case 'tool_call':
            setLive((l) => l && { ...l, tools: [...l.tools.filter((t) => t.id !== event.data.id), event.data] });
            break;
          case 'tool_result':
            setResults((r) => new Map(r).set(event.data.id, event.data));
            break;
          case 'message': {
            const local = event.data.error ? localErrors.get(event.data.error.code) : undefined;
            setMessages((m) => upsert(local ? m.filter((x) => x.id !== local) : m, event.data));
            if (event.data.role === 'assistant') {
              // Its text was streamed: what follows it (a later round's, if the messages come at
              // the end of the turn) keeps streaming.
              const stored = event.data.content ?? '';
              if (stored !== '') {
                streamingText.current = streamingText.current.startsWith(stored) ? streamingText.current.slice(stored.length).replace(/^\s+/, '') : '';
                setLive((l) => l && { ...l, streaming: streamingText.current });
              }
              if (!event.data.tool_calls?.length) finalAnswer = event.data.id;
              if (event.data.error) lastError = event.data.error.code;
            }
            break;
          }
          case 'error':
            if (event.data.code === 'llm_not_configured') onLlmMissing();
            // The same failure may also come as a stored message with its error: one row.
            if (lastError !== event.data.code) pushError(event.data.code, event.data.message);
            lastError = event.data.code;
            break;
          case 'done': {
            finished = true;
            const turn = event.data.usage;
            if (turn && finalAnswer) {
              const id = finalAnswer;
              setUsage((u) => new Map(u).set(id, turn));
            }
            break;
          }
        }
      };
      try {
        await streamAnswer(sessionId, text, controller.signal, onEvent);
        if (!finished && lastError === undefined) pushError('incomplete', 'The answer ended before it was complete.');
      } catch (error) {
        if (error instanceof DOMException && error.name === 'AbortError') {
          if (abort.current === controller) pushError('cancelled', 'Stopped.');
        } else {
          const code = error instanceof ApiError && error.status === 503 ? 'unavailable' : 'request_failed';
          pushError(code, messageOf(error));
        }
      } finally {
        // What was streamed but never stored (a stopped or failed answer) stays in view.
        const partial = streamingText.current;
        if (partial.trim() !== '') {
          const kept: Message = { id: localId('partial'), role: 'assistant', content: partial };
          setMessages((m) => {
            // Above the error row that ends it, if any.
            const at = m.findIndex((x) => x.id.startsWith('local-error') && [...localErrors.values()].includes(x.id));
            return at < 0 ? [...m, kept] : [...m.slice(0, at), kept, ...m.slice(at)];
          });
        }
        streamingText.current = '';
        if (abort.current === controller) {
          abort.current = undefined;
          setLive(undefined);
          onChanged();
        }
      }
    },
    [sessionId, onChanged, onLlmMissing],
  );

  // The first question of a chat started from the empty page.
  useEffect(() => {
    if (session && initialQuestion !== undefined && llmConfigured) {
      onInitialQuestionTaken();
      void send(initialQuestion);
    }
  }, [session, initialQuestion, llmConfigured, send, onInitialQuestionTaken]);

  const stop = () => abort.current?.abort();
  const streaming = live !== undefined;
  const items = useMemo(() => buildItems(messages, results, usage, live), [messages, results, usage, live]);
  const liveTools = useMemo(() => new Set((live?.tools ?? []).map((t) => t.id)), [live]);

  // Follows the conversation down while the reader is at its end.
  const scroller = useRef<HTMLDivElement>(null);
  const atEnd = useRef(true);
  useLayoutEffect(() => {
    const box = scroller.current;
    if (box && atEnd.current) box.scrollTop = box.scrollHeight;
  }, [items, live?.streaming]);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      if (!streaming && llmConfigured) void send(input);
    }
  };

  const persona = personas.find((p) => p.id === session?.persona);
  if (loadError) {
    return (
      <Box sx={{ p: 3 }}>
        <ErrorNotice error={loadError} title="This chat could not be opened" onRetry={() => setGeneration((g) => g + 1)} />
      </Box>
    );
  }
  if (!session) return <PageLoading />;
  return (
    <Box sx={{ flex: 1, minWidth: 0, minHeight: 0, display: 'flex', flexDirection: 'column' }} data-testid="chat" data-session={sessionId}>
      <Stack direction="row" spacing={1} alignItems="center" sx={{ px: 3, py: 1.5, borderBottom: 1, borderColor: 'divider' }}>
        <Typography variant="h6" component="h2" noWrap sx={{ flex: 1, minWidth: 0 }} data-testid="chat-title">
          {sessionTitle(listed ?? session)}
        </Typography>
        <Chip size="small" variant="outlined" label={persona?.name ?? session.persona} title={persona?.description ?? undefined} data-testid="chat-session-persona" />
      </Stack>
      <Box
        ref={scroller}
        onScroll={(e) => {
          const box = e.currentTarget;
          atEnd.current = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
        }}
        sx={{ flex: 1, minHeight: 0, overflowY: 'auto', px: 3, py: 2 }}
        data-testid="chat-messages"
        aria-live="polite"
      >
        {items.length === 0 && !streaming ? (
          <Typography color="text.secondary" sx={{ mt: 4, textAlign: 'center' }} data-testid="chat-empty">
            Ask about your metrics, clusters, alerts or services{persona ? ` — ${persona.name} answers with its tools` : ''}.
          </Typography>
        ) : null}
        {items.map((item) => (
          <ItemView key={`${item.kind}-${item.id}`} item={item} running={liveTools.has(item.id)} />
        ))}
        {live ? <Streaming text={live.streaming} /> : null}
      </Box>
      <Box sx={{ px: 3, py: 1.5, borderTop: 1, borderColor: 'divider' }}>
        <Stack direction="row" spacing={1} alignItems="flex-end">
          <TextField
            fullWidth
            multiline
            minRows={1}
            maxRows={8}
            size="small"
            placeholder={llmConfigured ? 'Ask a question (Enter sends, Shift+Enter for a new line)' : 'No language model is configured'}
            value={input}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={onKeyDown}
            disabled={streaming || !llmConfigured}
            inputProps={{ 'data-testid': 'chat-input', 'aria-label': 'Question' }}
          />
          {streaming ? (
            <Button variant="outlined" color="inherit" startIcon={<StopIcon />} onClick={stop} data-testid="chat-stop" sx={{ flexShrink: 0 }}>
              Stop
            </Button>
          ) : (
            <Button
              variant="contained"
              endIcon={<SendIcon />}
              onClick={() => void send(input)}
              disabled={!llmConfigured || input.trim() === ''}
              data-testid="chat-send"
              sx={{ flexShrink: 0 }}
            >
              Send
            </Button>
          )}
        </Stack>
      </Box>
    </Box>
  );
}

function Bubble({ role, children, testId = 'chat-message', id }: { role: 'user' | 'assistant'; children: ReactNode; testId?: string; id?: string }) {
  const user = role === 'user';
  return (
    <Box sx={{ display: 'flex', justifyContent: user ? 'flex-end' : 'flex-start', my: 1 }}>
      <Paper
        variant={user ? 'elevation' : 'outlined'}
        elevation={0}
        data-testid={testId}
        data-role={role}
        data-message={id}
        sx={{
          px: 2,
          py: 1,
          maxWidth: user ? '75%' : '100%',
          minWidth: 0,
          bgcolor: user ? 'primary.main' : 'background.paper',
          color: user ? 'primary.contrastText' : 'text.primary',
          whiteSpace: user ? 'pre-wrap' : undefined,
          overflowWrap: 'anywhere',
        }}
      >
        {children}
      </Paper>
    </Box>
  );
}

function ItemView({ item, running }: { item: Item; running: boolean }) {
  switch (item.kind) {
    case 'user':
      return (
        <Bubble role="user" id={item.id}>
          <Typography variant="body2" component="div" data-testid="chat-message-text">
            {item.text}
          </Typography>
        </Bubble>
      );
    case 'assistant':
      return (
        <Box>
          <Bubble role="assistant" id={item.id}>
            <Box data-testid="chat-message-text">
              <Markdown text={item.text} />
            </Box>
          </Bubble>
          {item.usage && (item.usage.total_tokens ?? 0) + (item.usage.prompt_tokens ?? 0) > 0 ? (
            <Typography variant="caption" color="text.secondary" component="div" sx={{ mt: -0.5, mb: 1 }} data-testid="chat-usage">
              {usageText(item.usage)}
            </Typography>
          ) : null}
        </Box>
      );
    case 'tool':
      return <ToolCard name={item.name} args={item.arguments} result={item.result} running={running} />;
    case 'error':
      return (
        <Alert
          severity={item.code === 'cancelled' ? 'info' : 'error'}
          icon={item.code === 'cancelled' ? undefined : <AlertCircleOutlineIcon fontSize="inherit" />}
          sx={{ my: 1 }}
          data-testid="chat-error"
          data-code={item.code}
        >
          {item.message}
        </Alert>
      );
  }
}

/** The answer as it arrives; "Thinking…" until its first piece. */
function Streaming({ text }: { text: string }) {
  if (text === '') {
    return (
      <Stack direction="row" spacing={1} alignItems="center" sx={{ my: 1, color: 'text.secondary' }} data-testid="assistant-thinking">
        <CircularProgress size={14} aria-label="Thinking" />
        <Typography variant="body2">Thinking…</Typography>
      </Stack>
    );
  }
  return (
    <Bubble role="assistant" testId="assistant-streaming">
      <Box data-testid="assistant-streaming-text">
        <Markdown text={text} />
      </Box>
    </Bubble>
  );
}
