/** Who the server says we are; null until known, or when the server refuses us (the page says why). */
import { useEffect, useState } from 'react';
import type { WhoamiResponse } from '../../server/routes/whoami.js';
import { apiGet } from '../ui/api-client.js';
import { useToken } from '../ui/auth-token.js';

export type Whoami = WhoamiResponse['data'];

export function useWhoami(): Whoami | null {
  const token = useToken();
  const [me, setMe] = useState<Whoami | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    apiGet<Whoami>('/api/whoami', {}, controller.signal).then(setMe, () => !controller.signal.aborted && setMe(null));
    return () => controller.abort();
  }, [token]);
  return me;
}
