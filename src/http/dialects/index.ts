import type { Config } from '../../config/schema.ts';
import type { WireDialect } from '../dialect.ts';
import { chatappDialect } from './chatapp/index.ts';
import { hosterDialect } from './hoster/index.ts';
import { invoiceboxDialect } from './invoicebox/index.ts';

/** Every dialect tokend speaks, with the setting that switches it on. */
export const DIALECTS: readonly { dialect: WireDialect; enabled: (c: Config) => boolean }[] = [
  { dialect: chatappDialect, enabled: (c) => c.chatappEnabled },
  { dialect: hosterDialect, enabled: (c) => c.hosterEnabled },
  { dialect: invoiceboxDialect, enabled: (c) => c.invoiceboxEnabled },
];
