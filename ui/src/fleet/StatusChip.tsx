// The small pieces every fleet page shows the same way: a cluster's health, its type, an alert's
// severity and state, and the "Live" / "Reconnecting" indicator of the event stream.
import Box from '@mui/material/Box';
import Chip from '@mui/material/Chip';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
import { CLUSTER_TYPES, type AlertState, type ClusterType, type HealthState } from './api';
import type { LiveState } from './events';

export const HEALTH_STATES: HealthState[] = ['healthy', 'degraded', 'unreachable', 'unknown'];

export const STATE_COLOR: Record<HealthState, 'success' | 'warning' | 'error' | 'default'> = {
  healthy: 'success',
  degraded: 'warning',
  unreachable: 'error',
  unknown: 'default',
};

/** The palette entry of a health state, for tiles and borders. */
export const STATE_PALETTE: Record<HealthState, string> = {
  healthy: 'success.main',
  degraded: 'warning.main',
  unreachable: 'error.main',
  unknown: 'grey.500',
};

export function StateChip({ state }: { state: HealthState }) {
  return <Chip size="small" color={STATE_COLOR[state]} label={state} data-testid="cluster-state" data-state={state} />;
}

export const typeLabel = (type: ClusterType | string) => CLUSTER_TYPES.find((t) => t.id === type)?.label ?? type;

export function TypeBadge({ type }: { type: ClusterType }) {
  return <Chip size="small" variant="outlined" label={typeLabel(type)} data-testid="cluster-type-badge" />;
}

const SEVERITY_COLOR: Record<string, 'error' | 'warning' | 'info' | 'default'> = {
  critical: 'error',
  error: 'error',
  page: 'error',
  high: 'error',
  warning: 'warning',
  medium: 'warning',
  info: 'info',
  low: 'info',
  none: 'default',
};

export function SeverityChip({ severity }: { severity?: string | null }) {
  const name = severity || 'none';
  return (
    <Chip size="small" color={SEVERITY_COLOR[name.toLowerCase()] ?? 'default'} label={name} data-testid="alert-severity" data-severity={name} />
  );
}

export function AlertStateChip({ state }: { state: AlertState }) {
  return (
    <Chip
      size="small"
      variant={state === 'firing' ? 'filled' : 'outlined'}
      color={state === 'firing' ? 'error' : 'success'}
      label={state}
      data-testid="alert-state"
      data-state={state}
    />
  );
}

/** A green "Live" while events arrive; "Reconnecting…" (and quiet polling) while they do not. */
export function FleetLive({ state }: { state: LiveState }) {
  const live = state === 'live';
  const text = live ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
  return (
    <Tooltip
      title={
        live
          ? 'Changes arrive over the event stream as they happen.'
          : 'The event stream is not connected; the page polls every 15 s until it is back.'
      }
    >
      <Box
        role="status"
        aria-label={text}
        data-testid="fleet-live"
        data-state={state}
        sx={{ display: 'inline-flex', alignItems: 'center', gap: 0.75, px: 1, cursor: 'default' }}
      >
        <Box component="span" sx={{ width: 8, height: 8, borderRadius: '50%', bgcolor: live ? 'success.main' : 'warning.main' }} />
        <Typography component="span" variant="body2" sx={{ color: live ? 'success.main' : 'warning.main', fontWeight: 600 }}>
          {text}
        </Typography>
      </Box>
    </Tooltip>
  );
}
