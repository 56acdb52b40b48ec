import { ApiError } from './api-client.js';
import { useToken } from './auth-token.js';
import { Button } from './Button.js';
import styles from './PageLayout.module.css';
import { StateMessage } from './StateMessage.js';
import { TokenForm } from './TokenForm.js';

/** What a page shows when its load failed: a token form for a 401, else the server's message and a retry. */
export function ErrorState({ error, what, onRetry }: { error: Error; what: string; onRetry?: () => void }) {
  const token = useToken();
  if (error instanceof ApiError && error.unauthorized) {
    return (
      <StateMessage title={token ? 'This token was refused' : 'A token is needed'} tone="attention">
        <p>This Pharos server requires an API token (viewer role or above).</p>
        <TokenForm rejected={Boolean(token)} />
      </StateMessage>
    );
  }
  return (
    <StateMessage title={`Could not load ${what}`} tone="danger">
      <p className={styles.errorText} data-testid="load-error">
        {error.message}
      </p>
      {onRetry && <Button onClick={onRetry}>Try again</Button>}
    </StateMessage>
  );
}
