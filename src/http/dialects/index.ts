import type { Config } from '../../config/schema.ts';
import type { WireDialect } from '../dialect.ts';
import { chatappDialect } from './chatapp/index.ts';

/** Every dialect tokend speaks, with the setting that switches it on. */
export const DIALECTS: readonly { dialect: WireDialect; enabled: (c: Config) => boolean }[] = [
  { dialect: chatappDialect, enabled: (c) => c.chatappEnabled },
];
