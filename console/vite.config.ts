import path from 'node:path';
import { defineConfig } from 'vite';

// The console is a static build the API serves at `/` (dist/console). React's JSX goes through Vite's own
// esbuild transform (no plugin: nothing here needs fast refresh in production).
export default defineConfig({
  root: __dirname,
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: { outDir: path.join(__dirname, '..', 'dist', 'console'), emptyOutDir: true, chunkSizeWarningLimit: 1000 },
});
