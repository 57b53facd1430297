#!/usr/bin/env node
// Staleness gate (`npm test`, tier "generated artefacts"; runs after the build). Fails when a
// checked-in generated artefact no longer matches its source (immich `generated-api-up-to-date`):
//   openapi     openapi.yaml equals what the compiled generator writes from the controllers
//   client      libs/api-client/src/generated equals what @hey-api/openapi-ts writes from it
//   migrations  the TypeORM entities match the schema the migrations build (nothing to generate)
// Every check runs and every failure is reported; `npm run generate` fixes the first two.
//
//   node tools/check-generated.mjs [openapi|client|migrations ...]
/* global console, process */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const committedOpenApi = join(root, 'openapi.yaml');
const committedClient = join(root, 'libs/api-client/src/generated');
const clientConfig = join(root, 'libs/api-client/openapi-ts.config.ts');
const openApiGenerator = join(root, 'apps/api/dist/tools/generate-openapi.js');
const dataSourceOptionsModule = join(root, 'apps/api/dist/store/data-source-options.js');
const REGENERATE = 'run `npm run generate` and commit the result';

class GateFailure extends Error {}

const checks = {
  async openapi(scratch) {
    requireBuilt(openApiGenerator);
    const fresh = join(scratch, 'openapi.yaml');
    const run = spawnSync(process.execPath, [openApiGenerator, fresh], {
      cwd: root,
      encoding: 'utf8',
    });
    if (run.status !== 0) {
      throw new GateFailure(`the OpenAPI generator failed:\n${run.stderr || run.stdout}`);
    }
    if (!existsSync(committedOpenApi))
      throw new GateFailure(`openapi.yaml is missing: ${REGENERATE}`);
    const difference = firstDifference(
      readFileSync(committedOpenApi, 'utf8'),
      readFileSync(fresh, 'utf8'),
    );
    if (difference !== undefined) {
      throw new GateFailure(
        `openapi.yaml is out of date with the controllers and models: ${REGENERATE}\n${difference}`,
      );
    }
  },

  async client(scratch) {
    // The committed openapi.yaml is the input: this check is about the client alone.
    const output = join(scratch, 'api-client');
    const { createClient } = await import('@hey-api/openapi-ts');
    await createClient({
      configFile: clientConfig,
      input: committedOpenApi,
      output: { path: output },
      logs: { level: 'silent', file: false },
    });
    const problems = compareTrees(committedClient, output);
    if (problems.length > 0) {
      throw new GateFailure(
        `libs/api-client/src/generated is out of date with openapi.yaml (never edit it by hand): ` +
          `${REGENERATE}\n${problems.join('\n')}`,
      );
    }
  },

  async migrations(scratch) {
    requireBuilt(dataSourceOptionsModule);
    // The app's own TypeORM instance: entity metadata is registered on the copy it loaded.
    const requireFromApi = createRequire(dataSourceOptionsModule);
    const { DataSource } = requireFromApi('typeorm');
    const { sqliteDataSourceOptions } = requireFromApi(dataSourceOptionsModule);
    const dataSource = new DataSource({
      ...sqliteDataSourceOptions(join(scratch, 'migrations.db')),
      migrationsRun: false,
      logging: false,
    });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations();
      const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
      if (upQueries.length > 0) {
        const queries = upQueries.map((query) => `  ${query.query}`).join('\n');
        throw new GateFailure(
          'the TypeORM entities differ from the schema the migrations create; add a migration ' +
            `under apps/api/src/migrations (and list it in MIGRATIONS). Pending:\n${queries}`,
        );
      }
    } finally {
      await dataSource.destroy();
    }
  },
};

function requireBuilt(file) {
  if (!existsSync(file)) {
    throw new GateFailure(`${relative(root, file)} is missing: build first (npx nx run api:build)`);
  }
}

/** Undefined when equal, else the first differing line with a little context. */
function firstDifference(expected, actual) {
  if (expected === actual) return undefined;
  const expectedLines = expected.split('\n');
  const actualLines = actual.split('\n');
  let line = 0;
  while (line < expectedLines.length && expectedLines[line] === actualLines[line]) line++;
  const show = (lines) =>
    lines
      .slice(Math.max(0, line - 2), line + 3)
      .map((text, index) => `    ${Math.max(0, line - 2) + index + 1}: ${text}`)
      .join('\n');
  return `  first difference at line ${line + 1}\n  committed:\n${show(expectedLines)}\n  generated now:\n${show(actualLines)}`;
}

function listFiles(directory, base = directory) {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? listFiles(path, base) : [relative(base, path)];
  });
}

function compareTrees(committed, fresh) {
  const committedFiles = new Set(listFiles(committed));
  const freshFiles = new Set(listFiles(fresh));
  const problems = [];
  for (const file of [...freshFiles].sort()) {
    if (!committedFiles.has(file)) problems.push(`  missing: ${file}`);
  }
  for (const file of [...committedFiles].sort()) {
    if (!freshFiles.has(file)) {
      problems.push(`  not generated any more: ${file}`);
      continue;
    }
    const difference = firstDifference(
      readFileSync(join(committed, file), 'utf8'),
      readFileSync(join(fresh, file), 'utf8'),
    );
    if (difference !== undefined) problems.push(`  changed: ${file}\n${difference}`);
  }
  return problems;
}

const selected = process.argv.slice(2);
for (const name of selected) {
  if (!(name in checks)) {
    console.error(
      `check-generated: unknown check ${name} (known: ${Object.keys(checks).join(', ')})`,
    );
    process.exit(2);
  }
}

let failed = 0;
for (const [name, check] of Object.entries(checks)) {
  if (selected.length > 0 && !selected.includes(name)) continue;
  const scratch = mkdtempSync(join(tmpdir(), `strait-check-${name}-`));
  try {
    await check(scratch);
    console.log(`ok    ${name}`);
  } catch (error) {
    failed++;
    const message = error instanceof GateFailure ? error.message : (error?.stack ?? String(error));
    console.error(`FAIL  ${name}: ${message}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
if (failed > 0) {
  console.error(`check-generated: ${failed} check(s) failed`);
  process.exit(1);
}
