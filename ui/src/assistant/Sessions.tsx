// The left column of the assistant page: "New chat" with the persona to start it with, and the
// user's own chat sessions, newest first (title, persona, when it last changed), each deletable
// after a confirmation.
import { useState } from 'react';
import { Link as RouterLink } from 'react-router-dom';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogContentText from '@mui/material/DialogContentText';
import DialogTitle from '@mui/material/DialogTitle';
import IconButton from '@mui/material/IconButton';
import List from '@mui/material/List';
import ListItem from '@mui/material/ListItem';
import ListItemButton from '@mui/material/ListItemButton';
import ListItemText from '@mui/material/ListItemText';
import MenuItem from '@mui/material/MenuItem';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { DeleteOutline as DeleteOutlineIcon, Plus as PlusIcon } from 'mdi-material-ui';
import { messageOf } from '../api/http';
import { ErrorNotice } from '../components/ErrorNotice';
import type { Persona, Session } from './api';
import { relativeTime, sessionTitle } from './format';

interface SessionsProps {
  sessions: Session[] | undefined;
  error: unknown;
  onRetry: () => void;
  personas: Persona[];
  persona: string;
  onPersona: (id: string) => void;
  current: string | undefined;
  canStart: boolean;
  starting: boolean;
  onNew: () => void;
  onDelete: (session: Session) => Promise<void>;
}

export function Sessions({ sessions, error, onRetry, personas, persona, onPersona, current, canStart, starting, onNew, onDelete }: SessionsProps) {
  const [toDelete, setToDelete] = useState<Session>();
  // The dialog keeps its text while it fades out.
  const [open, setOpen] = useState(false);
  const ask = (session: Session) => {
    setToDelete(session);
    setDeleteError(undefined);
    setOpen(true);
  };
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string>();
  const nameOf = (id: string) => personas.find((p) => p.id === id)?.name ?? id;
  const chosen = personas.find((p) => p.id === persona);

  const confirm = async () => {
    if (!toDelete) return;
    setDeleting(true);
    setDeleteError(undefined);
    try {
      await onDelete(toDelete);
      setOpen(false);
    } catch (e) {
      setDeleteError(messageOf(e));
    } finally {
      setDeleting(false);
    }
  };

  return (
    <Box
      component="aside"
      aria-label="Chat sessions"
      sx={{ width: 300, flexShrink: 0, borderRight: 1, borderColor: 'divider', display: 'flex', flexDirection: 'column', minHeight: 0 }}
    >
      <Box sx={{ p: 2, display: 'flex', flexDirection: 'column', gap: 1.5, borderBottom: 1, borderColor: 'divider' }}>
        <TextField
          select
          size="small"
          label="Persona"
          value={personas.some((p) => p.id === persona) ? persona : ''}
          onChange={(e) => onPersona(e.target.value)}
          disabled={personas.length === 0}
          helperText={chosen?.description ?? undefined}
          SelectProps={{ SelectDisplayProps: { 'data-testid': 'chat-persona' } as object }}
        >
          {personas.map((p) => (
            <MenuItem key={p.id} value={p.id} data-testid="chat-persona-option" data-persona={p.id}>
              {p.name}
            </MenuItem>
          ))}
        </TextField>
        <Button variant="contained" startIcon={<PlusIcon />} onClick={onNew} disabled={!canStart || starting} data-testid="chat-new">
          New chat
        </Button>
      </Box>
      <Box sx={{ flex: 1, minHeight: 0, overflowY: 'auto' }}>
        <ErrorNotice error={error} onRetry={onRetry} />
        {sessions && sessions.length === 0 ? (
          <Typography variant="body2" color="text.secondary" sx={{ p: 2 }} data-testid="chat-sessions-empty">
            {canStart ? <>No chats yet — start one with “New chat”.</> : 'No chats yet.'}
          </Typography>
        ) : null}
        <List dense disablePadding data-testid="chat-sessions">
          {(sessions ?? []).map((s) => (
            <ListItem
              key={s.id}
              disablePadding
              data-testid="chat-session-row"
              data-session={s.id}
              data-persona={s.persona}
              secondaryAction={
                <Tooltip title="Delete this chat" disableInteractive>
                  <IconButton edge="end" size="small" aria-label={`Delete chat ${sessionTitle(s)}`} onClick={() => ask(s)} data-testid="chat-session-delete">
                    <DeleteOutlineIcon fontSize="small" />
                  </IconButton>
                </Tooltip>
              }
            >
              <ListItemButton
                component={RouterLink}
                to={`/assistant/${encodeURIComponent(s.id)}`}
                selected={s.id === current}
                aria-current={s.id === current ? 'page' : undefined}
                sx={{ pr: 6 }}
              >
                <ListItemText
                  primary={sessionTitle(s)}
                  primaryTypographyProps={{ noWrap: true, title: sessionTitle(s), 'data-testid': 'chat-session-title' } as object}
                  secondary={
                    <span title={new Date(s.updated_at).toLocaleString()}>
                      {nameOf(s.persona)} · {relativeTime(s.updated_at)}
                    </span>
                  }
                />
              </ListItemButton>
            </ListItem>
          ))}
        </List>
      </Box>
      <Dialog open={open} onClose={() => (deleting ? undefined : setOpen(false))} data-testid="chat-delete-dialog">
        <DialogTitle>Delete this chat?</DialogTitle>
        <DialogContent>
          <DialogContentText>“{toDelete ? sessionTitle(toDelete) : ''}” and all its messages are deleted for good.</DialogContentText>
          {deleteError ? <ErrorNotice error={deleteError} /> : null}
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setOpen(false)} disabled={deleting}>
            Cancel
          </Button>
          <Button color="error" variant="contained" onClick={() => void confirm()} disabled={deleting} data-testid="chat-delete-confirm">
            Delete
          </Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}
