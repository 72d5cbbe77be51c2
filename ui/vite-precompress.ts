// Writes `.br` and `.gz` siblings for every compressible file of the build, so the Rust server
// can answer `Accept-Encoding` without compressing at request time (and with the best levels).
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plugin } from 'vite';

// Fonts (woff/woff2) and images are already compressed; these text formats gain 60-80 %.
const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json|txt|map)$/;
// Below this the encoding headers cost about as much as they save.
const MIN_BYTES = 1024;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** Compresses `dir`'s files in place; returns how many originals got compressed siblings. */
export function precompressDirectory(dir: string): number {
  let count = 0;
  for (const path of filesUnder(dir)) {
    if (!COMPRESSIBLE.test(path)) continue;
    const original = readFileSync(path);
    if (original.length < MIN_BYTES) continue;
    // gzipSync writes a zero mtime, so the output is reproducible byte for byte.
    const gz = gzipSync(original, { level: 9 });
    const br = brotliCompressSync(original, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: original.length,
      },
    });
    if (gz.length < original.length) writeFileSync(`${path}.gz`, gz);
    if (br.length < original.length) writeFileSync(`${path}.br`, br);
    count += 1;
  }
  return count;
}

/** Vite plugin: precompress the output directory once the bundle is written. */
export function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'pharos-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const count = precompressDirectory(outDir);
      this.info(`precompressed ${count} files (br + gz) in ${outDir}`);
    },
  };
}
