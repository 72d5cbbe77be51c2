import { Link as RouterLink } from 'react-router-dom';
import Link from '@mui/material/Link';
import Typography from '@mui/material/Typography';
import { Page } from '../components/Layout';

export default function NotFoundPage() {
  return (
    <Page title="Page not found">
      <Typography>
        There is no page at this address.{' '}
        <Link component={RouterLink} to="/">
          Go to the projects
        </Link>
        .
      </Typography>
    </Page>
  );
}
