// The committed types and compiled JS are what the schemas and sources give today (`make clients`).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generated } from '../scripts/generate.mjs';

const here = fileURLToPath(new URL('../', import.meta.url));
const files = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath ?? entry.path, entry.name)))
    .sort();

test('src/generated is what the JSON Schemas give', async () => {
  for (const [path, text] of Object.entries(await generated())) {
    assert.equal(readFileSync(join(here, path), 'utf8'), text, `${path} drifted: run make clients`);
  }
});

test('dist is what src compiles to', () => {
  const out = mkdtempSync(join(tmpdir(), 'videohooks-events-'));
  try {
    execFileSync(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '--outDir', out], { cwd: here });
    const committed = join(here, 'dist');
    assert.deepEqual(files(committed), files(out));
    for (const path of files(out)) {
      assert.equal(readFileSync(join(committed, path), 'utf8'), readFileSync(join(out, path), 'utf8'), `dist/${path} drifted: run make clients`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
