/**
 * One URL query parameter as React state, so a filtered view can be shared and survives a reload.
 * Setting it pushes a history entry: Back returns to the previous filter.
 */
import { useCallback, useEffect, useState } from 'react';

function read(name: string): string {
  return new URLSearchParams(window.location.search).get(name) ?? '';
}

export function useSearchParam(name: string): [string, (value: string) => void] {
  const [value, setValue] = useState(() => read(name));

  useEffect(() => {
    const onPop = () => setValue(read(name));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, [name]);

  const update = useCallback(
    (next: string) => {
      const url = new URL(window.location.href);
      if (next) url.searchParams.set(name, next);
      else url.searchParams.delete(name);
      if (url.href !== window.location.href) window.history.pushState(null, '', url);
      setValue(next);
    },
    [name],
  );

  return [value, update];
}
