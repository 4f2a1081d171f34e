/** The effectful edge of the compile stage: read the config and the shipped sources, compile, throw on problems. */
import { hasErrors } from '../diagnostics/diagnostic.js';
import { ConfigError, UserError } from '../diagnostics/errors.js';
import { compile } from '../compile/compile.js';
import type { BuildPlan } from '../compile/plan.js';
import { findModel, modelIds } from '../models/catalog.js';
import type { DeviceModel } from '../models/model.js';
import { readConfigFile } from './read-config.js';
import { loadStaticPayload, loadTemplates, toolVersion } from './sources.js';

export function requireModel(id: string): DeviceModel {
  const model = findModel(id);
  if (!model) throw new UserError(`unknown model '${id}'`, `known models: ${modelIds().join(', ')} (see \`build-iso models\`)`);
  return model;
}

export interface CompileForBuildArgs {
  configPath: string;
  modelId: string;
  vendorAutoinstall?: { document: unknown; source: string };
  vendorPolicy: 'keep' | 'ignore';
  confirm: boolean;
}

export async function compileForBuild(args: CompileForBuildArgs): Promise<BuildPlan> {
  const model = requireModel(args.modelId);
  const configText = readConfigFile(args.configPath);
  const result = compile({
    configText,
    model,
    templates: loadTemplates(),
    staticPayload: loadStaticPayload(),
    toolVersion: toolVersion(),
    confirm: args.confirm,
    ...(args.vendorAutoinstall && args.vendorPolicy === 'keep' ? { vendorAutoinstall: args.vendorAutoinstall.document } : {}),
  });
  if (!result.plan || hasErrors(result.diagnostics)) throw new ConfigError(args.configPath, result.diagnostics);
  return result.plan;
}
