// The user's preferences (docs/user/authentication.md, "Preferences"): kept by the server, so
// every device the user logs in from gets them. The theme applies at once and at every load;
// the time zone applies to dashboards and times shown; the refresh interval and time range fill
// in what a dashboard and its address do not say (and new dashboards start with the time range).
import { useEffect, useState } from 'react';
import Alert from '@mui/material/Alert';
import Button from '@mui/material/Button';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import TextField from '@mui/material/TextField';
import { putPreferences, type Preferences } from '../api/account';
import { useAccount } from '../components/Account';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

const THEMES = [
  { value: 'system', label: 'Follow the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];
const REFRESHES = [
  { value: '', label: 'Off' },
  { value: '5s', label: '5 seconds' },
  { value: '10s', label: '10 seconds' },
  { value: '15s', label: '15 seconds' },
  { value: '30s', label: '30 seconds' },
  { value: '1m', label: '1 minute' },
  { value: '5m', label: '5 minutes' },
];
const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '24h', '2d', '7d'];
const ZONES = ['browser', 'UTC', 'Europe/London', 'Europe/Paris', 'Europe/Berlin', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo', 'Asia/Kolkata', 'Australia/Sydney'];

/** The choices of a select, with the current value kept even when it is not a usual one. */
function withCurrent(values: { value: string; label: string }[], current: string) {
  return values.some((v) => v.value === current) ? values : [...values, { value: current, label: current }];
}

export default function PreferencesPage() {
  const { preferences, preferencesLoaded, setPreferences } = useAccount();
  const [draft, setDraft] = useState<Preferences>(preferences);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => setDraft(preferences), [preferences]);

  if (!preferencesLoaded) return <PageLoading />;
  const change = (field: keyof Preferences) => (event: { target: { value: string } }) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [field]: event.target.value }));
  };
  const save = async () => {
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      setPreferences(await putPreferences(draft));
      setSaved(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const zones = withCurrent(
    ZONES.map((z) => ({ value: z, label: z === 'browser' ? `The browser's (${Intl.DateTimeFormat().resolvedOptions().timeZone})` : z })),
    draft.timezone,
  );
  return (
    <Page title="Preferences">
      <Stack spacing={2} sx={{ maxWidth: 480 }}>
        <TextField select label="Theme" value={draft.theme} onChange={change('theme')} inputProps={{ 'data-testid': 'pref-theme' }}>
          {THEMES.map((t) => (
            <MenuItem key={t.value} value={t.value}>
              {t.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField select label="Time zone" value={draft.timezone} onChange={change('timezone')}>
          {zones.map((z) => (
            <MenuItem key={z.value} value={z.value}>
              {z.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          label="Default refresh"
          value={draft.refresh_interval}
          onChange={change('refresh_interval')}
          helperText="For dashboards that set none, unless the address says otherwise"
        >
          {withCurrent(REFRESHES, draft.refresh_interval).map((r) => (
            <MenuItem key={r.value || 'off'} value={r.value}>
              {r.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          select
          label="Default time range"
          value={draft.time_range}
          onChange={change('time_range')}
          helperText="New dashboards start with it; also for dashboards that set none"
        >
          {withCurrent(
            RANGES.map((r) => ({ value: r, label: `Last ${r}` })),
            draft.time_range,
          ).map((r) => (
            <MenuItem key={r.value} value={r.value}>
              {r.label}
            </MenuItem>
          ))}
        </TextField>
        <ErrorNotice error={error} title="Not saved" />
        {saved ? (
          <Alert severity="success" data-testid="preferences-saved">
            Saved. Every device you log in from gets these preferences.
          </Alert>
        ) : null}
        <Stack direction="row">
          <Button variant="contained" onClick={() => void save()} disabled={busy}>
            Save
          </Button>
        </Stack>
      </Stack>
    </Page>
  );
}
