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

export interface Page<T> {
  items: T[];
  nextBefore: number | null;
}

/**
 * A list read page by page (newest first, `before` the last id): the first page again with
 * `reload`, the next appended with `more`; `setItems` for changes made on the page.
 */
export function usePages<T>(fetchPage: (before: number | null) => Promise<Page<T>>): {
  items: T[] | null;
  next: number | null;
  loading: boolean;
  error: unknown;
  reload(): Promise<void>;
  more(): Promise<void>;
  setItems: (update: (items: T[] | null) => T[] | null) => void;
} {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);
  async function load(before: number | null): Promise<void> {
    setLoading(true);
    setError(null);
    try {
      const page = await fetchPage(before);
      setItems((prev) => (before !== null && prev ? [...prev, ...page.items] : page.items));
      setNext(page.nextBefore);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }
  return { items, next, loading, error, reload: () => load(null), more: () => load(next), setItems };
}
