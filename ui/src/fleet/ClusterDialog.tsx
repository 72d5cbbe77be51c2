// Registering a cluster (POST) and editing one (PUT: every field but the name is replaced, what is
// left empty is emptied). The server checks everything and its message says what to fix.
import { useState } from 'react';
import Button from '@mui/material/Button';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogTitle from '@mui/material/DialogTitle';
import MenuItem from '@mui/material/MenuItem';
import TextField from '@mui/material/TextField';
import { ErrorNotice } from '../components/ErrorNotice';
import { CLUSTER_TYPES, registerCluster, updateCluster, type Cluster, type ClusterInput, type ClusterType } from './api';
import { labelText, parseLabels } from './format';

interface Props {
  /** The cluster to edit; absent to register a new one. */
  editing?: Cluster;
  onClose: () => void;
  onDone: (cluster: Cluster) => void;
}

export function ClusterDialog({ editing, onClose, onDone }: Props) {
  const [name, setName] = useState(editing?.name ?? '');
  const [type, setType] = useState<ClusterType>(editing?.type ?? 'spoke');
  const [url, setUrl] = useState(editing?.prometheus_url ?? '');
  const [alertmanager, setAlertmanager] = useState(editing?.alertmanager_url ?? '');
  const [region, setRegion] = useState(editing?.region ?? '');
  const [labels, setLabels] = useState(labelText(editing?.labels));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const pairs = parseLabels(labels);
    const input: ClusterInput = {
      name: name.trim(),
      type,
      prometheus_url: url.trim(),
      ...(alertmanager.trim() ? { alertmanager_url: alertmanager.trim() } : {}),
      ...(region.trim() ? { region: region.trim() } : {}),
      ...(Object.keys(pairs).length > 0 ? { labels: pairs } : {}),
    };
    try {
      const saved = editing ? await updateCluster(input) : await registerCluster(input);
      onDone(saved);
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const title = editing ? `Edit ${editing.name}` : 'Register a cluster';
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="cluster-dialog-title">
      <DialogTitle id="cluster-dialog-title">{title}</DialogTitle>
      <DialogContent>
        <TextField
          autoFocus={!editing}
          fullWidth
          margin="dense"
          label="Name"
          value={name}
          disabled={editing !== undefined}
          onChange={(e) => setName(e.target.value)}
          helperText={editing ? 'A cluster keeps its name' : 'Lowercase letters, digits and “-”; its id in every address'}
          inputProps={{ 'data-testid': 'cluster-name' }}
        />
        <TextField
          select
          fullWidth
          margin="dense"
          label="Type"
          value={type}
          onChange={(e) => setType(e.target.value as ClusterType)}
          helperText="How often it is checked: hub 15 s, spoke 30 s, edge 60 s, far edge 120 s"
          inputProps={{ 'data-testid': 'cluster-type' }}
        >
          {CLUSTER_TYPES.map((t) => (
            <MenuItem key={t.id} value={t.id}>
              {t.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          autoFocus={editing !== undefined}
          fullWidth
          margin="dense"
          label="Prometheus or Thanos URL"
          value={url}
          onChange={(e) => setUrl(e.target.value)}
          placeholder="https://thanos-querier.openshift-monitoring.svc:9091"
          inputProps={{ 'data-testid': 'cluster-url' }}
        />
        <TextField fullWidth margin="dense" label="Alertmanager URL (optional)" value={alertmanager} onChange={(e) => setAlertmanager(e.target.value)} />
        <TextField
          fullWidth
          margin="dense"
          label="Region (optional)"
          value={region}
          onChange={(e) => setRegion(e.target.value)}
          inputProps={{ 'data-testid': 'cluster-region' }}
        />
        <TextField
          fullWidth
          margin="dense"
          label="Labels (optional)"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
          placeholder="env=prod, team=ml"
          inputProps={{ 'data-testid': 'cluster-labels' }}
        />
        <ErrorNotice error={error} title={editing ? 'Not saved' : 'Not registered'} />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          onClick={() => void submit()}
          disabled={busy || !name.trim() || !url.trim()}
          data-testid="cluster-register-submit"
        >
          {editing ? 'Save' : 'Register'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
