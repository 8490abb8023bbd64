// `npm install`'s prepare step: builds the server (dist/) and the console (console/dist/) when the
// build tools (devDependencies: typescript, rolldown, vite) are installed, as after a plain
// `npm install` in a clone. A production install (`npm ci --omit=dev`) has no build tools and needs no build:
// tokend then runs from its TypeScript sources (Node 24 strips the types as it loads them), and the
// console answers with how to build it. An image or a tarball that wants the build ships it from a
// stage that ran `npm run build` (Dockerfile).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const missing = ['typescript/package.json', 'rolldown/package.json', 'vite/package.json'].filter((name) => {
  try {
    require.resolve(name);
    return false;
  } catch {
    return true;
  }
});
if (missing.length > 0) {
  process.stdout.write('tokend: build tools not installed (production install): no build; tokend runs from its sources.\n');
} else {
  execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
}
