import { useState, type FormEvent } from 'react';
import { Button } from '../../ui/Button.js';
import styles from '../../ui/TokenForm.module.css';
import { login, type Credentials } from './api.js';

/**
 * Signs in with an API token, or a user name and password (`auth.users`): the server answers
 * with a session cookie the page cannot read, so no credential is kept in the browser. The
 * server stays the judge of whether it is good.
 */
export function LoginForm({ rejected }: { rejected: boolean }) {
  const [mode, setMode] = useState<'token' | 'password'>('token');
  const [token, setToken] = useState('');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const credentials: Credentials | null =
    mode === 'token' ? (token.trim() ? { token: token.trim() } : null) : username.trim() && password ? { username: username.trim(), password } : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!credentials || busy) return;
    setBusy(true);
    setError(null);
    try {
      await login(credentials);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  const invalid = Boolean(error) || rejected;
  const describedBy = error ? 'login-error' : undefined;
  return (
    <form className={styles.form} onSubmit={submit}>
      {mode === 'token' ? (
        <input
          className={styles.input}
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="Paste an API token"
          aria-label="API token"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={invalid}
          aria-describedby={describedBy}
        />
      ) : (
        <>
          <input
            className={styles.input}
            autoComplete="username"
            spellCheck={false}
            placeholder="User name"
            aria-label="User name"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            aria-invalid={invalid}
          />
          <input
            className={styles.input}
            type="password"
            autoComplete="current-password"
            placeholder="Password"
            aria-label="Password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={invalid}
            aria-describedby={describedBy}
          />
        </>
      )}
      <Button type="submit" variant="primary" disabled={!credentials || busy}>
        Sign in
      </Button>
      {error && (
        <span id="login-error" role="alert" className={styles.error}>
          {error}
        </span>
      )}
      <Button
        variant="ghost"
        className={styles.switch}
        onClick={() => {
          setMode(mode === 'token' ? 'password' : 'token');
          setError(null);
        }}
      >
        {mode === 'token' ? 'Sign in with a user name and password' : 'Sign in with an API token'}
      </Button>
    </form>
  );
}
