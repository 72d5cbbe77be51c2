// "Live" in the dashboard toolbar while the server pushes the panels' data (docs/user/ui.md,
// "Live mode"): a green dot, "Reconnecting…" while the browser reconnects, nothing when the page
// polls as usual. The counters are there for the curious (and the browser tests).
import { useSyncExternalStore } from 'react';
import Box from '@mui/material/Box';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { keyframes } from '@emotion/react';
import { liveStats, subscribeLiveStats, type LiveState } from '../perses/liveStream';

const pulse = keyframes`
  0% { opacity: 1; }
  50% { opacity: 0.35; }
  100% { opacity: 1; }
`;

export interface LiveIndicatorProps {
  /** `undefined`: the page is not in live mode. */
  state: LiveState | undefined;
  /** The refresh interval, as in the picker (`15s`). */
  refresh?: string;
}

export function LiveIndicator({ state, refresh }: LiveIndicatorProps) {
  const stats = useSyncExternalStore(subscribeLiveStats, liveStats);
  if (state !== 'live' && state !== 'reconnecting') return null;
  const live = state === 'live';
  const explanation = live
    ? `The server pushes new data every ${refresh ?? 'refresh interval'}; the panels redraw without polling.`
    : 'The connection to the server was lost; reconnecting. The panels keep their data.';
  return (
    <Tooltip title={explanation}>
      <Box
        data-testid="live-indicator"
        data-state={state}
        data-events={stats.events}
        data-rounds={stats.rounds}
        data-answered={stats.answered}
        role="status"
        aria-label={live ? 'Live' : 'Reconnecting'}
        sx={{ display: 'inline-flex', alignItems: 'center', gap: 0.75, px: 1, flexShrink: 0, cursor: 'default' }}
      >
        <Box
          component="span"
          sx={{
            width: 8,
            height: 8,
            borderRadius: '50%',
            bgcolor: live ? 'success.main' : 'warning.main',
            animation: live ? undefined : `${pulse} 1.2s ease-in-out infinite`,
          }}
        />
        <Typography component="span" variant="body2" sx={{ color: live ? 'success.main' : 'warning.main', fontWeight: 600 }}>
          {live ? 'Live' : 'Reconnecting…'}
        </Typography>
      </Box>
    </Tooltip>
  );
}
