/** `tokend audit verify | export`: the audit log's hash chain, proven and exported (docs/audit.md). */
import type { Command } from 'commander';
import { printResult, withServices, type CliIO } from './context.ts';

export function registerAuditCommands(program: Command, io: CliIO): void {
  const auditCmd = program.command('audit').description('The audit log: prove its hash chain, export it');
  auditCmd
    .command('verify')
    .description('Walk the hash chain; name the first entry whose link is broken (exit 1)')
    .option('--json', 'print one JSON object: {"ok","entries","unchained",…}')
    .option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)')
    .option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)')
    .action(async (o: { json?: boolean; dataDir?: string; databaseUrl?: string }) => {
      await withServices(io, o, async ({ core }) => {
        const report = await core.auditChain.verify();
        const unchained = report.unchained > 0 ? [`  ${report.unchained} entries written before the chain began are outside it`] : [];
        if (report.ok) {
          const range = report.firstSeq === null ? 'no chained entries yet' : `seq ${report.firstSeq} to ${report.lastSeq}, head ${report.lastHash}`;
          printResult(io, o.json, { ...report }, [`audit chain intact: ${report.entries} entries (${range})`, ...unchained]);
          return;
        }
        printResult(io, o.json, { ...report }, []);
        throw new Error(`audit chain broken at entry ${report.brokenAt.id} (seq ${report.brokenAt.seq}): ${report.reason}`);
      });
    });
  auditCmd
    .command('export')
    .description('Write the chained entries to stdout as NDJSON, in chain order, with their hashes')
    .option('--data-dir <dir>', 'data directory (TOKEND_DATA_DIR)')
    .option('--database-url <url>', 'database URL (TOKEND_DATABASE_URL)')
    .action(async (o: { dataDir?: string; databaseUrl?: string }) => {
      await withServices(io, o, async ({ core }) => {
        for await (const e of core.auditChain.entries()) io.out(JSON.stringify(e));
      });
    });
}
