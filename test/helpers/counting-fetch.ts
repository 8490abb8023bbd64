/** A fetch that records every call (`METHOD /path`), so SDK tests can count makes and refreshes. */
import type { FetchLike } from '../../client/src/index.ts';

export interface CountingFetch {
  fetch: FetchLike;
  calls: string[];
  count(call: string): number;
  reset(): void;
}

export function countingFetch(inner: FetchLike = (input, init) => fetch(input, init)): CountingFetch {
  const calls: string[] = [];
  return {
    calls,
    fetch: async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      calls.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      return inner(input, init);
    },
    count: (call) => calls.filter((c) => c === call).length,
    reset: () => void calls.splice(0),
  };
}
