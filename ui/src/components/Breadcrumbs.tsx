// "Projects / team-a / dashboard" trail; the last item is the current page.
import { Link as RouterLink } from 'react-router-dom';
import MuiBreadcrumbs from '@mui/material/Breadcrumbs';
import Link from '@mui/material/Link';
import Typography from '@mui/material/Typography';

export interface Crumb {
  label: string;
  to?: string;
}

export function Breadcrumbs({ items }: { items: Crumb[] }) {
  return (
    <MuiBreadcrumbs aria-label="breadcrumb" sx={{ mb: 1 }}>
      {items.map((item) =>
        item.to ? (
          <Link key={item.label} component={RouterLink} to={item.to} underline="hover" color="inherit">
            {item.label}
          </Link>
        ) : (
          <Typography key={item.label} color="text.primary">
            {item.label}
          </Typography>
        ),
      )}
    </MuiBreadcrumbs>
  );
}

export const projectUrl = (project: string) => `/projects/${encodeURIComponent(project)}`;
export const dashboardUrl = (project: string, name: string) =>
  `${projectUrl(project)}/dashboards/${encodeURIComponent(name)}`;
