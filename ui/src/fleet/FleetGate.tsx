// The fleet pages need `read` on the `Cluster` scope (docs/user/fleet.md, "Permissions"). Without
// it the page says so instead of failing call after call (and never opens the event stream).
import type { ReactNode } from 'react';
import Alert from '@mui/material/Alert';
import { useAccount } from '../components/Account';
import { Page, PageLoading } from '../components/Layout';

export function FleetGate({ title, children }: { title: string; children: ReactNode }) {
  const { permissions, can } = useAccount();
  if (permissions === undefined) return <PageLoading />;
  if (!can('read', 'Cluster')) {
    return (
      <Page title={title}>
        <Alert severity="warning" data-testid="fleet-no-access">
          The fleet pages need the <b>read</b> permission on <b>Cluster</b>. Ask an administrator for a role that grants it
          (for example a GlobalRole with <code>{'{"actions": ["read"], "scopes": ["Cluster"]}'}</code>).
        </Alert>
      </Page>
    );
  }
  return <>{children}</>;
}
