/**
 * Calls `onChange` when the `alerts` channel of the tab's live socket reports a state change
 * (dashboard/server/live/PROTOCOL.md), so the page reloads its list at once instead of polling
 * fast. Bursts (a rule firing for many series) are folded into one reload.
 */
import { useEffect, useRef, useState } from 'react';
import { useToken } from '../../ui/auth-token.js';
import { subscribeLive, type ConnectionStatus } from '../../ui/live-client.js';

const FOLD_MS = 250;

export function useAlertStream(onChange: () => void): ConnectionStatus {
  const token = useToken();
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const latest = useRef(onChange);
  latest.current = onChange;

  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let subscribedOnce = false;
    const sub = subscribeLive(token, 'alerts', () => ({ channel: 'alerts' }), {
      status: setStatus,
      message: (msg) => {
        if (msg.type === 'subscribed') {
          setStatus('live');
          // After a reconnect, changes made meanwhile were not pushed: read the list once.
          if (subscribedOnce) latest.current();
          subscribedOnce = true;
        } else if (msg.type === 'alert' && timer === undefined) {
          timer = setTimeout(() => {
            timer = undefined;
            latest.current();
          }, FOLD_MS);
        }
      },
    });
    return () => {
      clearTimeout(timer);
      sub.close();
    };
  }, [token]);

  return status;
}
