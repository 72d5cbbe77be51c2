// The small pieces both services pages show the same way: the data-quality status as a chip (the
// failing checks' details in its tooltip) and the owners.
import Chip from '@mui/material/Chip';
import Stack from '@mui/material/Stack';
import Tooltip from '@mui/material/Tooltip';
import type { Quality } from './api';
import { QUALITY_LABEL } from './format';

const COLOR = { ok: 'success', insufficient_data: 'warning', failing: 'error' } as const;

export function QualityChip({ quality }: { quality: Quality | undefined | null }) {
  const status = quality?.status ?? 'insufficient_data';
  const failed = (quality?.checks ?? []).filter((c) => !c.ok);
  const hint =
    failed.length > 0 ? failed.map((c) => `${c.name}: ${c.detail ?? 'failed'}`).join('\n') : status === 'ok' ? 'Every check passed.' : '';
  return (
    <Tooltip title={hint ? <span style={{ whiteSpace: 'pre-line' }}>{hint}</span> : ''}>
      <Chip
        size="small"
        color={COLOR[status] ?? 'default'}
        variant={status === 'ok' ? 'outlined' : 'filled'}
        label={QUALITY_LABEL[status] ?? status}
        data-testid="quality-status"
        data-status={status}
        aria-label={hint ? `${QUALITY_LABEL[status] ?? status}: ${hint}` : undefined}
      />
    </Tooltip>
  );
}

/** The owners (users and `group:` names) as chips. */
export function Owners({ owners }: { owners: string[] }) {
  if (owners.length === 0) return <>—</>;
  return (
    <Stack direction="row" spacing={0.5} flexWrap="wrap" useFlexGap>
      {owners.map((o) => (
        <Chip key={o} size="small" variant="outlined" label={o} data-testid="service-owner" />
      ))}
    </Stack>
  );
}
