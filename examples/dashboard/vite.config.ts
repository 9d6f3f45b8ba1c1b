import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard page: web/ → dist/web, served by `tickflow serve` at `/` (src/server/livePageRoutes.ts).
export default defineConfig({
  root: fileURLToPath(new URL('./web', import.meta.url)),
  base: '/',
  // web/public: files copied as they are (theme-boot.js, a classic script that must run before the first paint).
  publicDir: fileURLToPath(new URL('./web/public', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npx vite` for page work against a running `tickflow serve` on :3000.
    proxy: { '/api': 'http://127.0.0.1:3000', '/ws': { target: 'ws://127.0.0.1:3000', ws: true } },
  },
});
