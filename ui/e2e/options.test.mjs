// The contract between the validator and the UI (testdata/ui/bundled-ui-options.json) matches what
// the bundled Perses code really knows. Needs only node_modules: no binary, no browser, no peers.
// Its Rust twin (pharos-model, `bundled_ui_options`) checks the same file against the validator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTRACT, bundledOptions, readContract } from './bundled-options.mjs';

test('the validator contract lists exactly the options the bundled Perses code knows', () => {
  const fromCode = bundledOptions();
  const contract = readContract();
  for (const key of Object.keys(fromCode)) {
    if (key === 'about') continue;
    assert.deepEqual(
      contract[key],
      fromCode[key],
      `${CONTRACT} is out of date for "${key}" (run \`npm run options:write\` in ui/, then update the validator lists in crates/pharos-model/src/spec/common.rs until its test passes)`,
    );
  }
  assert.deepEqual(Object.keys(contract).sort(), Object.keys(fromCode).sort());
});

test('the derivation reads the real tables (not an empty or partial list)', () => {
  // If a package moved these tables, the lists above would be empty and the first test could pass.
  const options = bundledOptions();
  for (const unit of ['decimal', 'percent', 'bytes', 'seconds', 'requests/sec', 'usd']) assert.ok(options.formatUnits.includes(unit), unit);
  assert.ok(options.calculations.includes('last') && options.legendPositions.includes('bottom'));
});
