// Shows a failure where the user is looking, with the server's message verbatim.
import Alert from '@mui/material/Alert';
import AlertTitle from '@mui/material/AlertTitle';
import Button from '@mui/material/Button';
import { messageOf } from '../api/http';

interface ErrorNoticeProps {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  onClose?: () => void;
}

export function ErrorNotice({ error, title, onRetry, onClose }: ErrorNoticeProps) {
  if (error === undefined || error === null) return null;
  return (
    <Alert
      severity="error"
      role="alert"
      data-testid="error-notice"
      onClose={onClose}
      action={
        onRetry ? (
          <Button color="inherit" size="small" onClick={onRetry}>
            Retry
          </Button>
        ) : undefined
      }
      sx={{ my: 1, whiteSpace: 'pre-wrap' }}
    >
      {title ? <AlertTitle>{title}</AlertTitle> : null}
      {messageOf(error)}
    </Alert>
  );
}
