/** build-iso's command line and its one error boundary. */
import { Command, CommanderError } from 'commander';
import { formatDiagnostic } from '../diagnostics/diagnostic.js';
import { ConfigError, InterruptedError, MediaError, ToolError, UserError } from '../diagnostics/errors.js';
import { toolVersion } from '../load/sources.js';
import { registerConfigCommands } from './commands/config-commands.js';
import { routeFleetArgv } from './commands/fleet.js';
import { registerIsoCommands } from './commands/iso-commands.js';

export function buildProgram(): Command {
  const program = new Command('build-iso')
    .description('Build an unattended DGX OS 7.4.0 installer image for one DGX Spark from its YAML config.')
    .version(toolVersion(), '-V, --version')
    .showHelpAfterError('(run build-iso --help for usage)')
    .exitOverride();
  registerIsoCommands(program);
  registerConfigCommands(program);
  return program;
}

/** Turns typed errors into one line (or one line per diagnostic) and an exit status. */
export function reportError(e: unknown): number {
  const err = (s: string) => process.stderr.write(`${s}\n`);
  if (e instanceof CommanderError) {
    return e.exitCode === 0 ? 0 : 1;
  }
  if (e instanceof ConfigError) {
    for (const d of e.diagnostics) err(formatDiagnostic(e.file, d));
    const n = e.diagnostics.filter((d) => d.severity === 'error').length;
    err(`build-iso: ${n} error${n === 1 ? '' : 's'} in ${e.file}; nothing was written`);
    return 1;
  }
  if (e instanceof UserError || e instanceof MediaError) {
    err(`build-iso: error: ${e.message}`);
    if (e.hint) err(`  hint: ${e.hint}`);
    return 1;
  }
  if (e instanceof ToolError) {
    err(`build-iso: error: ${e.message}`);
    err(`  command: ${e.command}`);
    if (e.stderr.trim()) err(e.stderr.trim().replace(/^/gm, '  | '));
    return 2;
  }
  if (e instanceof InterruptedError) {
    err('build-iso: interrupted; nothing was written');
    return 130;
  }
  err(`build-iso: internal error: ${(e as Error)?.message ?? String(e)}`);
  if (process.env.BUILD_ISO_DEBUG) err(String((e as Error)?.stack));
  else err('  (set BUILD_ISO_DEBUG=1 for details, and please report it)');
  return 70;
}

export async function main(rawArgv: string[]): Promise<number> {
  const argv = routeFleetArgv(rawArgv);
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}
