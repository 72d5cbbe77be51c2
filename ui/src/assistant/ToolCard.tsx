// One tool call in a conversation: the tool's name, its arguments pretty-printed, then its result —
// the summary line, ok or error, a "truncated" note when the output budget cut it, and the JSON
// the model got, folded away until asked for. While the tool runs the card says so.
import { useState } from 'react';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import CircularProgress from '@mui/material/CircularProgress';
import Collapse from '@mui/material/Collapse';
import Paper from '@mui/material/Paper';
import Stack from '@mui/material/Stack';
import Typography from '@mui/material/Typography';
import { Wrench as WrenchIcon } from 'mdi-material-ui';
import type { ToolResult } from './conversation';
import { preSx } from './Markdown';

const pretty = (value: unknown): string => {
  if (value === undefined) return '';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
};

export function ToolCard({ name, args, result, running }: { name: string; args: unknown; result?: ToolResult; running: boolean }) {
  const [open, setOpen] = useState(false);
  const state = result ? (result.ok ? 'ok' : 'error') : running ? 'running' : 'unanswered';
  const argumentText = pretty(args);
  return (
    <Paper variant="outlined" data-testid="tool-card" data-tool={name} data-state={state} sx={{ p: 1.5, my: 1, maxWidth: '100%' }}>
      <Stack direction="row" spacing={1} alignItems="center" sx={{ mb: 1 }}>
        <WrenchIcon fontSize="small" color="action" />
        <Typography variant="subtitle2" component="span" sx={{ fontFamily: 'monospace' }} data-testid="tool-name">
          {name}
        </Typography>
        <Box sx={{ flex: 1 }} />
        {state === 'running' ? (
          <Stack direction="row" spacing={1} alignItems="center" data-testid="tool-running">
            <CircularProgress size={14} aria-label="Running" />
            <Typography variant="caption" color="text.secondary">
              running…
            </Typography>
          </Stack>
        ) : null}
        {result ? <Chip size="small" variant="outlined" color={result.ok ? 'success' : 'error'} label={result.ok ? 'ok' : 'error'} data-testid="tool-status" /> : null}
      </Stack>
      {argumentText ? (
        <Box component="pre" sx={preSx} data-testid="tool-arguments" aria-label={`Arguments of ${name}`}>
          {argumentText}
        </Box>
      ) : null}
      {result ? (
        <Box sx={{ mt: 1 }} data-testid="tool-result" data-ok={result.ok ? 'true' : 'false'}>
          <Stack direction="row" spacing={1} alignItems="center" flexWrap="wrap" useFlexGap>
            <Typography variant="body2" color={result.ok ? 'text.primary' : 'error.main'} data-testid="tool-summary" sx={{ flex: 1, minWidth: 0 }}>
              {result.summary ?? (result.ok ? 'Done.' : 'The tool failed.')}
              {!result.ok && result.error && result.error !== result.summary ? ` ${result.error}` : null}
            </Typography>
            {result.truncated ? (
              <Chip size="small" color="warning" variant="outlined" label="truncated" title={result.cutNotes?.join('; ') ?? "The result was cut to fit the model's budget"} data-testid="tool-truncated" />
            ) : null}
            {result.content !== undefined && result.content !== null ? (
              <Button size="small" onClick={() => setOpen((o) => !o)} aria-expanded={open} data-testid="tool-result-toggle">
                {open ? 'Hide result' : 'Show result'}
              </Button>
            ) : null}
          </Stack>
          <Collapse in={open} unmountOnExit>
            <Box component="pre" sx={{ ...preSx, mt: 1, maxHeight: 400, overflow: 'auto' }} data-testid="tool-result-json">
              {pretty(result.content)}
            </Box>
          </Collapse>
        </Box>
      ) : null}
    </Paper>
  );
}
