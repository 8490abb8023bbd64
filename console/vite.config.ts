/**
 * Builds the web console into console/dist, which tokend serves at /console/ itself
 * (src/http/native/console-static.ts). Everything is bundled: no CDN, no external fonts.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  publicDir: 'public',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The console is served by tokend with a strict Content-Security-Policy: no inline scripts.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    // `npx vite --config console/vite.config.ts` during development: API calls go to a local tokend.
    proxy: { '/api': 'http://127.0.0.1:8080' },
  },
});
