import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): Promise<void>;
}

/** Loads data for a page: loading and error states, and a reload after changes. */
export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const latest = useRef(0);
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    const ticket = ++latest.current;
    setLoading(true);
    try {
      const value = await run();
      if (ticket === latest.current) {
        setData(value);
        setError(null);
      }
    } catch (e) {
      if (ticket === latest.current) setError(e);
    } finally {
      if (ticket === latest.current) setLoading(false);
    }
  }, [run]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

/** Runs an action with a busy flag and its error kept for display next to what caused it. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>): {
  run: (...args: A) => Promise<R | undefined>;
  busy: boolean;
  error: unknown;
  reset(): void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A): Promise<R | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await action(...args);
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, reset: () => setError(null) };
}

export interface Page<T, C> {
  items: T[];
  /** Where the next page starts (a cursor, or the last id), null on the last page. */
  next: C | null;
}

/**
 * A list read page by page (newest first): the first page again with `reload`, the next appended
 * with `more`; `setItems` for changes made on the page. `C` is what the API hands back to ask for
 * the next page: the opaque `nextCursor` of the admin API, or the `before` id of older lists.
 */
export function usePages<T, C = number>(fetchPage: (cursor: C | null) => Promise<Page<T, C>>): {
  items: T[] | null;
  next: C | null;
  loading: boolean;
  error: unknown;
  reload(): Promise<void>;
  more(): Promise<void>;
  setItems: (update: (items: T[] | null) => T[] | null) => void;
} {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<C | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  // A reload while an older request is still out (a filter typed quickly) must not be overwritten by it.
  const latest = useRef(0);
  async function load(cursor: C | null): Promise<void> {
    const ticket = ++latest.current;
    setLoading(true);
    setError(null);
    try {
      const page = await fetchPage(cursor);
      if (ticket !== latest.current) return;
      setItems((prev) => (cursor !== null && prev ? [...prev, ...page.items] : page.items));
      setNext(page.next);
    } catch (e) {
      if (ticket === latest.current) setError(e);
    } finally {
      if (ticket === latest.current) setLoading(false);
    }
  }
  return { items, next, loading, error, reload: () => load(null), more: () => load(next), setItems };
}
