// The assistant (`/assistant`, `/assistant/:id`; docs/user/assistant.md): the user's chat sessions
// on the left, with "New chat" and the persona to start it with (`GET /api/v1/personas`); the
// open session on the right (Chat.tsx), its id in the address so a link reopens it. Without a
// configured language model a notice says how to set one, and chatting is off. A second view,
// "Incidents" (`/assistant?view=incidents`, Incidents.tsx), holds the root-cause analysis: the
// incidents of a window and their evidence, without any language model.
import { useCallback, useState, type KeyboardEvent } from 'react';
import { useLocation, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import Alert from '@mui/material/Alert';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Stack from '@mui/material/Stack';
import Tab from '@mui/material/Tab';
import Tabs from '@mui/material/Tabs';
import TextField from '@mui/material/TextField';
import Typography from '@mui/material/Typography';
import { RobotOutline as RobotOutlineIcon, Send as SendIcon } from 'mdi-material-ui';
import { messageOf } from '../api/http';
import { useLoad } from '../api/useLoad';
import { ErrorNotice } from '../components/ErrorNotice';
import { createSession, deleteSession, listPersonas, listSessions, type Session } from './api';
import { Chat } from './Chat';
import { Incidents } from './Incidents';
import { Sessions } from './Sessions';

export const NO_LLM_NOTICE =
  'No language model is configured: set assistant.llm in the configuration (docs/user/assistant.md). Anomaly detection and root-cause analysis still work.';

export default function AssistantPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const { pathname } = useLocation();
  const view = params.get('view') === 'incidents' ? 'incidents' : 'chat';
  // The open chat stays in the path while the incidents show, and is back with the Chat tab.
  const show = (next: string) => {
    if (next !== view) navigate({ pathname, search: next === 'incidents' ? '?view=incidents' : '' });
  };
  return (
    <Box sx={{ flex: 1, minHeight: 0, display: 'flex', flexDirection: 'column' }} data-testid="assistant-page">
      <Tabs value={view} onChange={(_, next: string) => show(next)} sx={{ px: 2, borderBottom: 1, borderColor: 'divider', minHeight: 40, flexShrink: 0 }} data-testid="assistant-views">
        <Tab value="chat" label="Chat" sx={{ minHeight: 40, py: 0 }} data-testid="assistant-view-chat" />
        <Tab value="incidents" label="Incidents" sx={{ minHeight: 40, py: 0 }} data-testid="assistant-view-incidents" />
      </Tabs>
      {view === 'incidents' ? <Incidents /> : <ChatView />}
    </Box>
  );
}

/** The chat view: the sessions on the left, the open one (or a first question) on the right. */
function ChatView() {
  const { id } = useParams();
  const navigate = useNavigate();
  const personas = useLoad(listPersonas, 'personas');
  const sessions = useLoad(listSessions, 'sessions');
  const reloadSessions = sessions.reload;
  const [chosen, setChosen] = useState<string>();
  const [llmMissing, setLlmMissing] = useState(false);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string>();
  /** The first question of a chat started from the empty page, for that new session. */
  const [firstQuestion, setFirstQuestion] = useState<{ session: string; question: string }>();

  const personaList = personas.data?.personas ?? [];
  const persona = chosen ?? personaList.find((p) => p.id === 'default')?.id ?? personaList[0]?.id ?? 'default';
  const known = personas.data !== undefined || personas.error !== undefined;
  const notConfigured = personas.data?.llm?.configured === false || llmMissing;
  const llmConfigured = known && !notConfigured;

  const start = async (question?: string) => {
    setStarting(true);
    setStartError(undefined);
    try {
      const session = await createSession(persona);
      if (question !== undefined) setFirstQuestion({ session: session.id, question });
      reloadSessions();
      navigate(`/assistant/${encodeURIComponent(session.id)}`);
    } catch (e) {
      setStartError(messageOf(e));
    } finally {
      setStarting(false);
    }
  };

  const remove = async (session: Session) => {
    await deleteSession(session.id);
    if (session.id === id) navigate('/assistant', { replace: true });
    reloadSessions();
  };

  const onChanged = useCallback(() => reloadSessions(), [reloadSessions]);
  const onLlmMissing = useCallback(() => setLlmMissing(true), []);
  const takeFirstQuestion = useCallback(() => setFirstQuestion(undefined), []);

  return (
    <Box sx={{ flex: 1, minHeight: 0, display: 'flex' }} data-testid="assistant-chat-view">
      <Sessions
        sessions={sessions.data}
        error={sessions.error}
        onRetry={reloadSessions}
        personas={personaList}
        persona={persona}
        onPersona={setChosen}
        current={id}
        canStart={llmConfigured}
        starting={starting}
        onNew={() => void start()}
        onDelete={remove}
      />
      <Box sx={{ flex: 1, minWidth: 0, minHeight: 0, display: 'flex', flexDirection: 'column' }}>
        {notConfigured ? (
          <Alert severity="warning" sx={{ m: 2, mb: 0 }} data-testid="assistant-llm-notice">
            {NO_LLM_NOTICE}
          </Alert>
        ) : null}
        {personas.error ? (
          <Box sx={{ px: 2 }}>
            <ErrorNotice error={personas.error} title="The personas could not be loaded" onRetry={personas.reload} />
          </Box>
        ) : null}
        {startError ? (
          <Box sx={{ px: 2 }}>
            <ErrorNotice error={startError} title="The chat could not be started" onClose={() => setStartError(undefined)} />
          </Box>
        ) : null}
        {id ? (
          <Chat
            key={id}
            sessionId={id}
            listed={sessions.data?.find((s) => s.id === id)}
            personas={personaList}
            llmConfigured={llmConfigured}
            initialQuestion={firstQuestion?.session === id ? firstQuestion.question : undefined}
            onInitialQuestionTaken={takeFirstQuestion}
            onLlmMissing={onLlmMissing}
            onChanged={onChanged}
          />
        ) : (
          <Start enabled={llmConfigured && !starting} model={personas.data?.llm?.model ?? undefined} onAsk={(q) => void start(q)} />
        )}
      </Box>
    </Box>
  );
}

/** The page without an open session: ask a first question (a new chat with the chosen persona). */
function Start({ enabled, model, onAsk }: { enabled: boolean; model?: string; onAsk: (question: string) => void }) {
  const [text, setText] = useState('');
  const ask = () => {
    if (enabled && text.trim() !== '') onAsk(text.trim());
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      ask();
    }
  };
  return (
    <Box sx={{ flex: 1, display: 'flex', alignItems: 'center', justifyContent: 'center', p: 3 }} data-testid="assistant-start">
      <Stack spacing={2} sx={{ width: '100%', maxWidth: 720 }} alignItems="stretch">
        <Stack direction="row" spacing={1} alignItems="center" justifyContent="center">
          <RobotOutlineIcon color="primary" />
          <Typography variant="h5" component="h1">
            Assistant
          </Typography>
        </Stack>
        <Typography color="text.secondary" textAlign="center">
          Ask about metrics, clusters, alerts and services: the assistant answers with the same queries you can run, as you, and shows each one it
          made.{model ? ` Model: ${model}.` : ''}
        </Typography>
        <Stack direction="row" spacing={1} alignItems="flex-end">
          <TextField
            fullWidth
            multiline
            maxRows={8}
            size="small"
            placeholder={enabled ? 'Ask a question to start a new chat' : 'No language model is configured'}
            value={text}
            onChange={(e) => setText(e.target.value)}
            onKeyDown={onKeyDown}
            disabled={!enabled}
            inputProps={{ 'data-testid': 'chat-input', 'aria-label': 'Question' }}
          />
          <Button variant="contained" endIcon={<SendIcon />} onClick={ask} disabled={!enabled || text.trim() === ''} data-testid="chat-send" sx={{ flexShrink: 0 }}>
            Send
          </Button>
        </Stack>
      </Stack>
    </Box>
  );
}
