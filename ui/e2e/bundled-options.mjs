// What the bundled Perses packages can draw, read from their code in node_modules (not from their
// docs or types): the format units the formatters know, the calculations, and the legend choices.
// The server's validator must accept exactly these (testdata/ui/bundled-ui-options.json is the
// contract: `options.test.mjs` checks it against node_modules, a Rust test in pharos-model checks
// it against the validator). After upgrading @perses-dev packages: `npm run options:write`.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONTRACT = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'testdata/ui/bundled-ui-options.json');

const require = createRequire(import.meta.url);
// The CommonJS builds: they load in plain Node (the ESM builds use extensionless imports).
const core = require('@perses-dev/core');
const legend = require('@perses-dev/plugin-system/dist/cjs/model/legend.js');

const versionOf = (pkg) => JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')).version;

/** The options as the bundled code knows them, in the code's own order. */
export function bundledOptions() {
  return {
    about:
      'What the web UI bundled in pharos can draw, read from ui/node_modules by ui/e2e/bundled-options.mjs; ' +
      'the validator (crates/pharos-model) accepts exactly these. Regenerate with `npm run options:write` in ui/.',
    packages: Object.fromEntries(['@perses-dev/core', '@perses-dev/plugin-system'].map((p) => [p, versionOf(p)])),
    // `formatValue` looks a unit up in UNIT_CONFIG and crashes the panel on any other unit.
    formatUnits: Object.keys(core.UNIT_CONFIG),
    calculations: Object.keys(core.CalculationsMap),
    legendPositions: Object.keys(legend.LEGEND_POSITIONS_CONFIG),
    legendModes: Object.keys(legend.LEGEND_MODE_CONFIG),
    legendSizes: Object.keys(legend.LEGEND_SIZE_CONFIG),
    legendValues: Object.keys(legend.LEGEND_VALUE_CONFIG),
  };
}

export function readContract() {
  return JSON.parse(readFileSync(CONTRACT, 'utf8'));
}

if (process.argv.includes('--write')) {
  writeFileSync(CONTRACT, `${JSON.stringify(bundledOptions(), null, 2)}\n`);
  console.log(`wrote ${CONTRACT}`);
}
