/**
 * The `tokend` package (package.json "exports"): what other programs may import. Re-exports only.
 *
 * Secret scanning (docs/secret-scanning.md): recognise tokend's secrets and drop look-alikes
 * offline, without calling the server.
 */
export { identifySecret, SECRET_PATTERNS, validateTokenChecksum, type SecretPattern, type SecretShape } from './secrets/scanning.ts';
export { TOKEN_PREFIXES, type TokenKind } from './secrets/tokens.ts';
