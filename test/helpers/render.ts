/** Test helpers: compile a config the way the CLI does, from the repo's own templates and payload. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type CompileResult } from '../../src/compile/compile.js';
import { installMarker } from '../../src/compile/install-marker.js';
import { MANIFEST_PATH } from '../../src/compile/manifest.js';
import { loadStaticPayload, loadTemplates, PACKAGE_ROOT } from '../../src/load/sources.js';
import { findModel } from '../../src/models/catalog.js';

export const REPO = PACKAGE_ROOT;
export const SHARED = join(REPO, '..', 'shared');
const templates = loadTemplates();
const staticPayload = loadStaticPayload();

export function compileText(configText: string, modelId: string, extra: { vendorAutoinstall?: unknown } = {}): CompileResult {
  const model = findModel(modelId);
  if (!model) throw new Error(`no model ${modelId}`);
  return compile({ configText, model, templates, staticPayload, toolVersion: '0.0.0-test', ...extra });
}

export function compileFile(path: string, modelId: string): CompileResult {
  return compileText(readFileSync(join(REPO, path), 'utf8'), modelId);
}

/**
 * The cases rendered into golden files and checked by every compile test. The example
 * cases compile the fixture copies of examples/*.yaml with their CHANGE-ME values filled
 * in (test/cli/commands.test.ts holds each copy to its example).
 */
export const CASES = [
  { name: 'spark-4tb-example', config: 'test/fixtures/configs/example-spark-4tb.yaml', model: 'spark-4tb' },
  { name: 'spark-2tb-example', config: 'test/fixtures/configs/example-spark-2tb.yaml', model: 'spark-2tb' },
  { name: 'spark-1tb-example', config: 'test/fixtures/configs/example-spark-1tb.yaml', model: 'spark-1tb' },
  { name: 'spark-2tb-minimal', config: 'test/fixtures/configs/minimal.yaml', model: 'spark-2tb' },
  { name: 'spark-4tb-bpool-swap-services', config: 'test/fixtures/configs/bpool-swap-services.yaml', model: 'spark-4tb' },
] as const;

export function planFor(c: (typeof CASES)[number]) {
  const r = compileFile(c.config, c.model);
  if (!r.plan) throw new Error(`${c.config}: ${r.diagnostics.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`).join('; ')}`);
  return r.plan;
}

/** The install marker a compiled build writes and its guard recognises, taken from the plan's own manifest (configSha256). */
export function planMarker(plan: { files: readonly { path: string; content: Buffer }[] }): string {
  const manifest = plan.files.find((f) => f.path === MANIFEST_PATH);
  if (!manifest) throw new Error(`the plan has no ${MANIFEST_PATH}`);
  return installMarker((JSON.parse(manifest.content.toString()) as { configSha256: string }).configSha256);
}
