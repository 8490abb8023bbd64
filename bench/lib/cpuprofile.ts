/**
 * Reading the CPU profiles `node --cpu-prof` writes for the profiling tools of the bench
 * (profile-check.ts, profile-write.ts, profile-pg.ts).
 *
 * tokend runs from its compiled build: dist/ holds a few chunks, each bundling tokend's modules and
 * the packages they use (Fastify, Kysely, pino, jose…), so a frame's own location names a chunk,
 * not what the code is. `readProfile` maps every frame back through the build's source maps to the
 * file it was compiled from (`src/core/sessions.ts`, `node_modules/fastify/lib/route.js`), so that
 * time can be summed by function, by package and by part of tokend.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface Profile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/**
 * The largest profile in `dir`: the server's main thread. (`tokend serve` writes a small one of
 * its start before it replaces itself with node's flags, and each worker thread writes its own.)
 */
export function largestProfile(dir: string): string {
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) throw new Error(`no CPU profile in ${dir}`);
  return join(dir, file);
}

/** Reads a profile, each frame of a compiled chunk mapped back to its source file and line. */
export function readProfile(file: string): Profile {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const maps = new Map<string, SourceMap | null>();
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    if (!frame.url.startsWith('file://') || frame.lineNumber < 0) continue;
    const path = fileURLToPath(frame.url);
    let map = maps.get(path);
    if (map === undefined) {
      map = null;
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
      } catch {
        // Not compiled (tokend's sources, node_modules outside the build): its own location is right.
      }
      maps.set(path, map);
    }
    if (map === null) continue;
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
    if (!('originalSource' in entry) || !entry.originalSource) continue;
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : resolve(dirname(path), entry.originalSource);
    node.callFrame = { ...frame, url: `file://${source}`, lineNumber: entry.originalLine, columnNumber: entry.originalColumn };
  }
  return profile;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * A frame's file as the tools print it: a package's files from the package's name on
 * (`fastify/lib/route.js`), tokend's from the repository's root (`src/core/sessions.ts`), Node's
 * own as Node names them (`node:internal/…`).
 */
export function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const inPackage = path.lastIndexOf('/node_modules/');
  if (inPackage >= 0) return path.slice(inPackage + '/node_modules/'.length);
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}
