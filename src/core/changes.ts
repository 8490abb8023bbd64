/**
 * Change notifications: what verification caches need to hear about. Core publishes after a
 * commit that revokes or replaces credentials; local subscribers (this node's caches) hear it at
 * once. On PostgreSQL the store bridges the bus to LISTEN/NOTIFY so other nodes hear it too.
 */
export type ChangeKind = 'session' | 'api_token' | 'account' | 'service_account' | 'service_key' | 'signing_key' | 'resource_server' | 'policy' | 'operator_key';

export interface Change {
  kind: ChangeKind;
  /** Ids of the changed records (session ids, api-token ids, account ids, …). */
  ids: string[];
  /** True when the change came from another node (a bridge must not re-broadcast it). */
  remote?: boolean;
  /** For a remote change: when its node sent it (that node's clock, ms), to measure delivery lag. */
  sentAt?: number;
}

export type ChangeListener = (change: Change) => void;

export class ChangeBus {
  readonly #listeners = new Set<ChangeListener>();

  /** Delivers to every subscriber synchronously; a throwing subscriber does not stop the others. */
  publish(change: Change): void {
    if (change.ids.length === 0) return;
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // A cache that fails to invalidate must not fail the request that revoked something;
        // its entries still expire within the configured staleness bound.
      }
    }
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
