#!/usr/bin/env node
// tokend runs its TypeScript sources directly: Node 24 strips types natively, so there is no build step.
import { main } from '../src/main.ts';

process.exitCode = await main(process.argv.slice(2));
