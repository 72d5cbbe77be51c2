// "Compare with…" in a time-series panel's header (docs/user/ui.md, "Time shift"; behind the panel's
// ≡ button with its other actions): 1 day ago, 1 week ago or any duration; the panel then also draws
// its queries that much earlier, dashed, with " (1d ago)" after the series names
// (perses/timeShift.ts). The choice is the page's, per panel: it is not saved and a reload forgets
// it. A chip above the chart says what the panel is compared with and turns it off.
import { createContext, useContext, useState, type FormEvent, type MouseEvent } from 'react';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import IconButton from '@mui/material/IconButton';
import ListItemIcon from '@mui/material/ListItemIcon';
import ListItemText from '@mui/material/ListItemText';
import ListSubheader from '@mui/material/ListSubheader';
import Menu from '@mui/material/Menu';
import MenuItem from '@mui/material/MenuItem';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import { alpha } from '@mui/material/styles';
import { Check, Close, CompareHorizontal } from 'mdi-material-ui';
import type { PanelDefinition, UnknownSpec } from '@perses-dev/core';
import type { PanelProps } from '@perses-dev/plugin-system';
import { PRESET_SHIFTS, canShift, parseShift, type TimeShift } from '../perses/timeShift';

/** The page's comparisons, per panel (PersesDashboard.tsx provides them). */
export interface TimeShiftControl {
  /** Off on read-only views: a share link runs only the dashboard's own queries. */
  enabled: boolean;
  shiftOf: (panel: PanelDefinition | undefined) => TimeShift | undefined;
  setShift: (panel: PanelDefinition | undefined, shift: TimeShift | undefined) => void;
  /**
   * Opens the menu for `panel` at `position` (the page's one menu: the header button may sit in
   * Perses' overflow popover, which closes, and unmounts it, as soon as the button is clicked).
   */
  openMenu: (panel: PanelDefinition | undefined, position: { top: number; left: number }) => void;
}

export const TimeShiftContext = createContext<TimeShiftControl>({
  enabled: false,
  shiftOf: () => undefined,
  setShift: () => undefined,
  openMenu: () => undefined,
});

const PRESET_TEXT: Record<string, string> = { '1d': '1 day ago', '1w': '1 week ago' };

/** The panel header action (a Perses panel plugin action: it gets the panel's props). */
export function TimeShiftAction({ definition }: PanelProps<UnknownSpec>) {
  const control = useContext(TimeShiftContext);
  if (!control.enabled || !canShift(definition)) return null;
  return (
    <Tooltip title="Compare with an earlier time">
      <IconButton
        size="small"
        aria-label="Compare with an earlier time"
        aria-haspopup="menu"
        data-testid="time-shift-button"
        onClick={(event: MouseEvent<HTMLElement>) => {
          const rect = event.currentTarget.getBoundingClientRect();
          control.openMenu(definition, { top: rect.bottom, left: rect.left });
        }}
      >
        <CompareHorizontal fontSize="inherit" />
      </IconButton>
    </Tooltip>
  );
}

/** "Compare with…": 1 day ago, 1 week ago, a custom duration, or stop. */
export function TimeShiftMenu({
  position,
  current,
  onChoose,
  onClose,
}: {
  position: { top: number; left: number } | undefined;
  current: TimeShift | undefined;
  onChoose: (shift: TimeShift | undefined) => void;
  onClose: () => void;
}) {
  const [custom, setCustom] = useState('');
  const [problem, setProblem] = useState<string>();
  const close = () => {
    setProblem(undefined);
    onClose();
  };
  const choose = (shift: TimeShift | undefined) => {
    setProblem(undefined);
    onChoose(shift);
  };
  const submitCustom = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseShift(custom);
    if (typeof parsed === 'string') {
      setProblem(parsed);
      return;
    }
    setCustom('');
    choose(parsed);
  };
  const isPreset = current !== undefined && PRESET_SHIFTS.some((p) => p.ms === current.ms);

  return (
    <Menu
      open={position !== undefined}
      anchorReference="anchorPosition"
      anchorPosition={position}
      onClose={close}
      slotProps={{ paper: { 'data-testid': 'time-shift-menu' } as object }}
      MenuListProps={{ dense: true, subheader: <ListSubheader sx={{ lineHeight: '32px' }}>Compare with…</ListSubheader> }}
    >
      {PRESET_SHIFTS.map((shift) => (
        <MenuItem key={shift.label} selected={current?.ms === shift.ms} onClick={() => choose(shift)}>
          <ListItemIcon>{current?.ms === shift.ms ? <Check fontSize="small" /> : null}</ListItemIcon>
          <ListItemText>{PRESET_TEXT[shift.label] ?? `${shift.label} ago`}</ListItemText>
        </MenuItem>
      ))}
      {current && !isPreset ? (
        <MenuItem selected onClick={close}>
          <ListItemIcon>
            <Check fontSize="small" />
          </ListItemIcon>
          <ListItemText>{current.label} ago</ListItemText>
        </MenuItem>
      ) : null}
      <Box
        component="form"
        onSubmit={submitCustom}
        // Typing in the field must not move the menu's focus to a matching item.
        onKeyDown={(event) => event.stopPropagation()}
        sx={{ display: 'flex', alignItems: 'flex-start', gap: 1, px: 2, py: 1 }}
      >
        <TextField
          size="small"
          label="Custom"
          placeholder="e.g. 2h, 3d, 4w"
          value={custom}
          onChange={(event) => {
            setCustom(event.target.value);
            setProblem(undefined);
          }}
          error={problem !== undefined}
          helperText={problem ?? 'how long ago'}
          inputProps={{ 'aria-label': 'Compare with a custom time ago', 'data-testid': 'time-shift-custom' }}
          sx={{ width: 150 }}
        />
        <Button type="submit" size="small" variant="outlined" sx={{ mt: 0.5 }}>
          Compare
        </Button>
      </Box>
      {current ? (
        <MenuItem onClick={() => choose(undefined)}>
          <ListItemIcon>
            <Close fontSize="small" />
          </ListItemIcon>
          <ListItemText>Stop comparing</ListItemText>
        </MenuItem>
      ) : null}
    </Menu>
  );
}

/** Height of a chip line above the chart, px (as the stale marker's). */
export const CHIP_HEIGHT = 22;

/** "Compared with 1d ago ×" above a compared chart; the copies' error, if they failed. */
export function TimeShiftChip({ shift, error, onClear }: { shift: TimeShift; error?: string; onClear: () => void }) {
  return (
    <Tooltip title={error ?? `The dashed series are this panel's queries ${shift.label} earlier (not saved)`}>
      <Box
        data-testid="time-shift-chip"
        data-shift={shift.label}
        role="status"
        sx={{
          height: CHIP_HEIGHT,
          display: 'inline-flex',
          alignItems: 'center',
          gap: 0.5,
          pl: 1,
          fontSize: 12,
          lineHeight: `${CHIP_HEIGHT}px`,
          whiteSpace: 'nowrap',
          borderRadius: 1,
          color: (theme) => (error ? theme.palette.warning.main : theme.palette.text.secondary),
          bgcolor: (theme) => alpha(error ? theme.palette.warning.main : theme.palette.text.secondary, 0.08),
          '.MuiSvgIcon-root': { flexShrink: 0 },
        }}
      >
        <CompareHorizontal fontSize="inherit" />
        <span>
          Compared with {shift.label} ago{error ? ': failed' : ''}
        </span>
        <IconButton size="small" aria-label="Stop comparing" onClick={onClear} sx={{ p: 0.25, fontSize: 14 }}>
          <Close fontSize="inherit" />
        </IconButton>
      </Box>
    </Tooltip>
  );
}
