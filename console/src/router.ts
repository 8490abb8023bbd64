/**
 * A few lines of routing over the History API: pages live at /console/<page>, so a reload or a
 * bookmark lands on the same page (tokend answers every /console/<page> with index.html).
 */
import { useEffect, useState } from 'react';

export const BASE = '/console/';
const EVENT = 'tokend:navigate';

/** The page path without the base: '' for the start page, 'apps', 'admin/accounts', … */
export function currentPath(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return path.replace(/\/+$/, '');
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  const url = BASE + path;
  if (url === location.pathname) return;
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  window.dispatchEvent(new Event(EVENT));
  window.scrollTo(0, 0);
}

export function useRoute(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = (): void => setPath(currentPath());
    window.addEventListener('popstate', update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return path;
}
