#!/usr/bin/env node
// tokend runs its TypeScript sources directly: Node 24 strips types natively, so there is no build step.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`tokend needs Node.js 24 (see .nvmrc); this is ${process.version}.\n`);
  process.exit(1);
}
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
