import { LogsPage } from '../features/logs/index.js';
import { setToken, useToken } from '../ui/auth-token.js';
import { Button } from '../ui/Button.js';
import styles from './App.module.css';
import { useWhoami } from './useWhoami.js';

export function App() {
  return (
    <div className={styles.shell}>
      <Header />
      <main className={styles.main}>
        <LogsPage />
      </main>
    </div>
  );
}

function Header() {
  const me = useWhoami();
  const token = useToken();
  return (
    <header className={styles.header}>
      <a className={styles.brand} href="/">
        <img src="/favicon.svg" alt="" width="26" height="26" />
        <span>Pharos</span>
      </a>
      <nav className={styles.nav} aria-label="Sections">
        <a className={styles.navItem} href="/" aria-current="page">
          Logs
        </a>
      </nav>
      <div className={styles.user}>
        {me && (
          <span className={styles.principal} title={me.anonymous ? 'No tokens are configured: the server is open on loopback' : undefined}>
            <span className={styles.avatar} aria-hidden="true">
              {me.name.slice(0, 1).toUpperCase()}
            </span>
            {me.name}
            <span className={styles.role}>{me.role}</span>
          </span>
        )}
        {token && (
          <Button variant="ghost" onClick={() => setToken(null)}>
            Forget token
          </Button>
        )}
      </div>
    </header>
  );
}
