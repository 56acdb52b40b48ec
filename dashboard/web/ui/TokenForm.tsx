import { useState, type FormEvent } from 'react';
import { setToken } from './auth-token.js';
import { Button } from './Button.js';
import styles from './TokenForm.module.css';

/** Asks for a bearer token; the server stays the judge of whether it is good. */
export function TokenForm({ rejected }: { rejected: boolean }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const token = value.trim();
    if (token) setToken(token);
  };
  return (
    <form className={styles.form} onSubmit={submit}>
      <input
        className={styles.input}
        type="password"
        autoComplete="off"
        spellCheck={false}
        placeholder="Paste an API token"
        aria-label="API token"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        aria-invalid={rejected}
      />
      <Button type="submit" variant="primary" disabled={!value.trim()}>
        Use token
      </Button>
    </form>
  );
}
