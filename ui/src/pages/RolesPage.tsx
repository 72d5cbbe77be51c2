// Who may do what in a project: its roles (permissions: actions on kinds) and the bindings that give
// a role to users; create, edit and delete both for those allowed to (docs/user/roles.md).
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import Autocomplete from '@mui/material/Autocomplete';
import Box from '@mui/material/Box';
import Button from '@mui/material/Button';
import Chip from '@mui/material/Chip';
import Dialog from '@mui/material/Dialog';
import DialogActions from '@mui/material/DialogActions';
import DialogContent from '@mui/material/DialogContent';
import DialogContentText from '@mui/material/DialogContentText';
import DialogTitle from '@mui/material/DialogTitle';
import IconButton from '@mui/material/IconButton';
import MenuItem from '@mui/material/MenuItem';
import Stack from '@mui/material/Stack';
import Table from '@mui/material/Table';
import TableBody from '@mui/material/TableBody';
import TableCell from '@mui/material/TableCell';
import TableHead from '@mui/material/TableHead';
import TableRow from '@mui/material/TableRow';
import TextField from '@mui/material/TextField';
import Tooltip from '@mui/material/Tooltip';
import Typography from '@mui/material/Typography';
// Named imports from the ESM index: the per-icon files are CommonJS.
import { Close as CloseIcon, DeleteOutline as DeleteOutlineIcon, PencilOutline as PencilOutlineIcon } from 'mdi-material-ui';
import type { Permission } from '../api/account';
import {
  ACTIONS,
  PROJECT_SCOPES,
  createRole,
  createRoleBinding,
  deleteRole,
  deleteRoleBinding,
  describePermission,
  listRoleBindings,
  listRoles,
  listUserNames,
  updateRole,
  updateRoleBinding,
  type RoleBindingResource,
  type RoleResource,
} from '../api/rbac';
import { useLoad } from '../api/useLoad';
import { useAccount } from '../components/Account';
import { Breadcrumbs, projectUrl } from '../components/Breadcrumbs';
import { ErrorNotice } from '../components/ErrorNotice';
import { Page, PageLoading } from '../components/Layout';

/** A role's permissions in words, one per line ("no permissions" for an empty role). */
function PermissionsSummary({ permissions }: { permissions: Permission[] }) {
  if (permissions.length === 0) return <Typography color="text.secondary">no permissions</Typography>;
  return (
    <>
      {permissions.map((p, index) => (
        <Box key={index}>{describePermission(p)}</Box>
      ))}
    </>
  );
}

/** A multi-select of fixed words (actions or scopes), shown as the joined list. */
function WordsSelect({
  label,
  words,
  value,
  onChange,
}: {
  label: string;
  words: readonly string[];
  value: string[];
  onChange: (value: string[]) => void;
}) {
  return (
    <TextField
      select
      size="small"
      label={label}
      value={value}
      onChange={(e) => {
        const chosen = e.target.value as unknown as string[] | string;
        const list = typeof chosen === 'string' ? chosen.split(',') : chosen;
        // In the order of the offered words, whatever order they were clicked in.
        onChange(words.filter((w) => list.includes(w)));
      }}
      SelectProps={{ multiple: true, renderValue: (selected) => (selected as string[]).join(', ') }}
      sx={{ flex: 1, minWidth: 0 }}
    >
      {words.map((w) => (
        <MenuItem key={w} value={w}>
          {w}
        </MenuItem>
      ))}
    </TextField>
  );
}

/** Creates a role (`role` undefined) or edits one: its name and permission rows. */
function RoleDialog({
  project,
  role,
  onClose,
  onSaved,
}: {
  project: string;
  role: RoleResource | undefined;
  onClose: () => void;
  onSaved: () => void;
}) {
  const editing = role !== undefined;
  const [name, setName] = useState(role?.metadata.name ?? '');
  const [rows, setRows] = useState<Permission[]>(
    role ? role.spec.permissions.map((p) => ({ actions: [...p.actions], scopes: [...p.scopes] })) : [{ actions: [], scopes: [] }],
  );
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const complete = name.trim() !== '' && rows.every((r) => r.actions.length > 0 && r.scopes.length > 0);
  const setRow = (index: number, row: Permission) => setRows((all) => all.map((r, i) => (i === index ? row : r)));

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const spec = { permissions: rows };
      if (role) await updateRole(project, { ...role, spec });
      else await createRole(project, { kind: 'Role', metadata: { name: name.trim(), project }, spec });
      onSaved();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="md" aria-labelledby="role-dialog-title">
      <DialogTitle id="role-dialog-title">{editing ? `Edit role ${role.metadata.name}` : 'New role'}</DialogTitle>
      <DialogContent>
        <ErrorNotice error={error} />
        <TextField
          autoFocus={!editing}
          fullWidth
          margin="dense"
          label="Name"
          value={name}
          disabled={editing}
          onChange={(e) => setName(e.target.value)}
          helperText={editing ? 'A role keeps its name; delete it and create another to rename it' : "Letters, digits, '-', '_' and '.'"}
        />
        <Typography variant="subtitle2" sx={{ mt: 2, mb: 1 }}>
          Permissions: each row allows its actions on its kinds (* is every one)
        </Typography>
        <Stack spacing={1.5}>
          {rows.map((row, index) => (
            <Stack key={index} direction="row" spacing={1} alignItems="center" data-testid="permission-row">
              <WordsSelect label="Actions" words={ACTIONS} value={row.actions} onChange={(actions) => setRow(index, { ...row, actions })} />
              <WordsSelect label="Scopes" words={PROJECT_SCOPES} value={row.scopes} onChange={(scopes) => setRow(index, { ...row, scopes })} />
              <Tooltip title="Remove this permission">
                <IconButton
                  size="small"
                  aria-label={`Remove permission ${index + 1}`}
                  onClick={() => setRows((all) => all.filter((_, i) => i !== index))}
                >
                  <CloseIcon fontSize="small" />
                </IconButton>
              </Tooltip>
            </Stack>
          ))}
        </Stack>
        <Button size="small" sx={{ mt: 1 }} onClick={() => setRows((all) => [...all, { actions: [], scopes: [] }])}>
          Add permission
        </Button>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={() => void submit()} disabled={busy || !complete}>
          {editing ? 'Save' : 'Create'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Names typed but not yet turned into a chip count too: "alice, bob" in the box is two users. */
function withPending(subjects: string[], pending: string): string[] {
  const typed = pending.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return [...subjects, ...typed.filter((s) => !subjects.includes(s))];
}

/** Creates a binding (`binding` undefined) or edits one: its name, role and users. */
function BindingDialog({
  project,
  binding,
  roles,
  users,
  onClose,
  onSaved,
  onRefused,
}: {
  project: string;
  binding: RoleBindingResource | undefined;
  roles: string[];
  /** Users to offer; empty when the list cannot be read (names are then typed). */
  users: string[];
  onClose: () => void;
  onSaved: () => void;
  /** After a refused save: the roles may have changed meanwhile. */
  onRefused: () => void;
}) {
  const editing = binding !== undefined;
  const [name, setName] = useState(binding?.metadata.name ?? '');
  const [role, setRole] = useState(binding?.spec.role ?? '');
  const [subjects, setSubjects] = useState<string[]>(binding?.spec.subjects.map((s) => s.name) ?? []);
  const [pending, setPending] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const allSubjects = withPending(subjects, pending);
  // The name defaults to the role and the first user, e.g. "viewer-alice".
  const derivedName = [role, allSubjects[0] ?? ''].filter((s) => s !== '').join('-').replace(/[^a-zA-Z0-9_.-]+/g, '-');
  const effectiveName = editing ? name : name.trim() || derivedName;
  // A binding may name a role that was deleted since; keep it offered so the form shows it.
  const roleOptions = role !== '' && !roles.includes(role) ? [...roles, role] : roles;

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    const spec = { role, subjects: allSubjects.map((s) => ({ kind: 'User' as const, name: s })) };
    try {
      if (binding) await updateRoleBinding(project, { ...binding, spec });
      else await createRoleBinding(project, { kind: 'RoleBinding', metadata: { name: effectiveName, project }, spec });
      onSaved();
    } catch (e) {
      setError(e);
      setBusy(false);
      onRefused();
    }
  };

  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="binding-dialog-title">
      <DialogTitle id="binding-dialog-title">{editing ? `Edit binding ${binding.metadata.name}` : 'New role binding'}</DialogTitle>
      <DialogContent>
        <ErrorNotice error={error} />
        <TextField
          select
          fullWidth
          margin="dense"
          label="Role"
          value={role}
          onChange={(e) => setRole(e.target.value)}
          helperText={roles.length === 0 ? 'This project has no roles yet: create one first' : undefined}
        >
          {roleOptions.map((r) => (
            <MenuItem key={r} value={r}>
              {r}
            </MenuItem>
          ))}
        </TextField>
        <Autocomplete
          multiple
          freeSolo
          options={users}
          value={subjects}
          onChange={(_, value) => setSubjects(value.map((v) => v.trim()).filter((v, i, all) => v !== '' && all.indexOf(v) === i))}
          inputValue={pending}
          onInputChange={(_, value) => setPending(value)}
          renderTags={(value, getTagProps) =>
            value.map((option, index) => {
              const { key, ...tagProps } = getTagProps({ index });
              return <Chip key={key} size="small" label={option} {...tagProps} />;
            })
          }
          renderInput={(params) => (
            <TextField
              {...params}
              margin="dense"
              label="Users"
              helperText={
                users.length > 0 ? 'Pick users, or type a name and press Enter' : 'Type a user name and press Enter (one per chip)'
              }
            />
          )}
        />
        <TextField
          fullWidth
          margin="dense"
          label="Name (in the API)"
          value={name}
          placeholder={derivedName}
          disabled={editing}
          onChange={(e) => setName(e.target.value)}
          InputLabelProps={{ shrink: editing || name !== '' || derivedName !== '' }}
          helperText={editing ? undefined : 'Derived from the role and the first user when empty'}
        />
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          onClick={() => void submit()}
          disabled={busy || role === '' || allSubjects.length === 0 || effectiveName === ''}
        >
          {editing ? 'Save' : 'Create'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

type Editing =
  | { what: 'role'; role?: RoleResource }
  | { what: 'binding'; binding?: RoleBindingResource };

type Deleting = { what: 'role'; name: string } | { what: 'binding'; name: string };

export default function RolesPage() {
  const { project = '' } = useParams();
  const { can } = useAccount();
  const roles = useLoad(() => listRoles(project), project);
  const bindings = useLoad(() => listRoleBindings(project), project);
  // Only administrators may list users; everyone else types the names.
  const mayListUsers = can('read', 'User');
  const users = useLoad(() => (mayListUsers ? listUserNames() : Promise.resolve([])), `${mayListUsers}`);
  const [editing, setEditing] = useState<Editing>();
  const [toDelete, setToDelete] = useState<Deleting>();
  const [actionError, setActionError] = useState<unknown>();
  const roleNames = (roles.data ?? []).map((r) => r.metadata.name);
  const canRoles = (action: string) => can(action, 'Role', project);
  const canBindings = (action: string) => can(action, 'RoleBinding', project);

  const saved = () => {
    setEditing(undefined);
    roles.reload();
    bindings.reload();
  };

  const confirmDelete = async () => {
    if (!toDelete) return;
    setActionError(undefined);
    try {
      if (toDelete.what === 'role') await deleteRole(project, toDelete.name);
      else await deleteRoleBinding(project, toDelete.name);
      roles.reload();
      bindings.reload();
    } catch (e) {
      setActionError(e);
    } finally {
      setToDelete(undefined);
    }
  };

  const rowActions = (what: 'role' | 'binding', name: string, onEdit: () => void) => {
    const allowed = what === 'role' ? canRoles : canBindings;
    return (
      <>
        {allowed('update') ? (
          <Tooltip title="Edit">
            <IconButton size="small" onClick={onEdit} aria-label={`Edit ${what} ${name}`}>
              <PencilOutlineIcon fontSize="small" />
            </IconButton>
          </Tooltip>
        ) : null}
        {allowed('delete') ? (
          <Tooltip title="Delete">
            <IconButton size="small" onClick={() => setToDelete({ what, name })} aria-label={`Delete ${what} ${name}`}>
              <DeleteOutlineIcon fontSize="small" />
            </IconButton>
          </Tooltip>
        ) : null}
      </>
    );
  };

  return (
    <Page title={<Breadcrumbs items={[{ label: 'Projects', to: '/' }, { label: project, to: projectUrl(project) }, { label: 'Roles' }]} />}>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
        A role lists what may be done in this project (actions on kinds of resources); a binding gives a role to users.
        Permissions only add up: a user may do what any of their roles, or a global role, allows. A user bound
        to any role here sees the project.
      </Typography>
      <ErrorNotice error={actionError} onClose={() => setActionError(undefined)} />

      <Box sx={{ display: 'flex', alignItems: 'center', mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Roles
        </Typography>
        {canRoles('create') ? (
          <Button variant="contained" onClick={() => setEditing({ what: 'role' })}>
            New role
          </Button>
        ) : null}
      </Box>
      <ErrorNotice error={roles.error} onRetry={roles.reload} />
      {roles.loading && !roles.data ? <PageLoading /> : null}
      {roles.data && roles.data.length === 0 ? <Typography color="text.secondary">No roles in this project.</Typography> : null}
      {roles.data && roles.data.length > 0 ? (
        <Table size="small" aria-label="Roles" sx={{ mb: 4 }}>
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Permissions</TableCell>
              <TableCell align="right">Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {roles.data.map((r) => (
              <TableRow key={r.metadata.name} hover data-testid="role-row">
                <TableCell>{r.metadata.name}</TableCell>
                <TableCell>
                  <PermissionsSummary permissions={r.spec.permissions} />
                </TableCell>
                <TableCell align="right">{rowActions('role', r.metadata.name, () => setEditing({ what: 'role', role: r }))}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}

      <Box sx={{ display: 'flex', alignItems: 'center', mb: 1 }}>
        <Typography variant="h6" component="h2" sx={{ flexGrow: 1 }}>
          Role bindings
        </Typography>
        {canBindings('create') ? (
          <Button variant="contained" onClick={() => setEditing({ what: 'binding' })}>
            New binding
          </Button>
        ) : null}
      </Box>
      <ErrorNotice error={bindings.error} onRetry={bindings.reload} />
      {bindings.loading && !bindings.data ? <PageLoading /> : null}
      {bindings.data && bindings.data.length === 0 ? (
        <Typography color="text.secondary">Nobody is bound to a role of this project.</Typography>
      ) : null}
      {bindings.data && bindings.data.length > 0 ? (
        <Table size="small" aria-label="Role bindings">
          <TableHead>
            <TableRow>
              <TableCell>Name</TableCell>
              <TableCell>Role</TableCell>
              <TableCell>Users</TableCell>
              <TableCell align="right">Actions</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {bindings.data.map((b) => (
              <TableRow key={b.metadata.name} hover data-testid="binding-row">
                <TableCell>{b.metadata.name}</TableCell>
                <TableCell>
                  {b.spec.role}
                  {roles.data && !roleNames.includes(b.spec.role) ? (
                    <Tooltip title="This role was deleted: the binding grants nothing">
                      <Chip size="small" color="warning" label="missing" sx={{ ml: 1 }} />
                    </Tooltip>
                  ) : null}
                </TableCell>
                <TableCell>{b.spec.subjects.map((s) => s.name).join(', ')}</TableCell>
                <TableCell align="right">
                  {rowActions('binding', b.metadata.name, () => setEditing({ what: 'binding', binding: b }))}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      ) : null}

      {editing?.what === 'role' ? (
        <RoleDialog project={project} role={editing.role} onClose={() => setEditing(undefined)} onSaved={saved} />
      ) : null}
      {editing?.what === 'binding' ? (
        <BindingDialog
          project={project}
          binding={editing.binding}
          roles={roleNames}
          users={users.data ?? []}
          onClose={() => setEditing(undefined)}
          onSaved={saved}
          onRefused={roles.reload}
        />
      ) : null}
      <Dialog open={toDelete !== undefined} onClose={() => setToDelete(undefined)}>
        <DialogTitle>{toDelete?.what === 'role' ? 'Delete role?' : 'Delete role binding?'}</DialogTitle>
        <DialogContent>
          <DialogContentText>
            {toDelete?.what === 'role'
              ? `“${toDelete.name}” is deleted for good; bindings that name it then grant nothing.`
              : `“${toDelete?.name ?? ''}” is deleted for good; its users lose what it granted them here.`}
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setToDelete(undefined)}>Cancel</Button>
          <Button color="error" variant="contained" onClick={() => void confirmDelete()}>
            Delete
          </Button>
        </DialogActions>
      </Dialog>
    </Page>
  );
}
