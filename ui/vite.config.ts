import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { precompress } from './vite-precompress';

// The committed bundle lives in the server crate, which embeds it (docs/decisions/0006-ui-bundle.md).
// PHAROS_UI_OUT_DIR lets scripts/test.sh rebuild elsewhere and compare with the committed copy.
const outDir = process.env.PHAROS_UI_OUT_DIR ?? fileURLToPath(new URL('../crates/pharos-server/ui-dist', import.meta.url));
// `npm run dev` forwards API and proxy calls to a running pharos.
const devBackend = process.env.PHAROS_UI_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), precompress()],
  // @perses-dev/core's fetch helper calls `global.fetch` (a webpack-ism).
  define: { global: 'globalThis' },
  build: {
    outDir,
    emptyOutDir: true,
    // The Perses chunk is about 3 MB; it is loaded only by the dashboard page.
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
    rolldownOptions: {
      output: {
        codeSplitting: {
          // Keep the YAML parser (import page, Perses JSON view) in its own chunk; otherwise the
          // bundler's module helpers share a chunk with it and the first page preloads it.
          groups: [{ name: 'yaml', test: /node_modules[\\/]yaml[\\/]/ }],
        },
      },
    },
  },
  server: {
    proxy: {
      '/api': devBackend,
      '/proxy': devBackend,
    },
  },
});
