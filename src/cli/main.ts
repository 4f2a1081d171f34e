/** build-iso's command line and its one error boundary. */
import { Command, CommanderError } from 'commander';
import { formatDiagnostic } from '../diagnostics/diagnostic.js';
import { ConfigError, InterruptedError, MediaError, ReportedFailure, ToolError, UsageError, UserError } from '../diagnostics/errors.js';
import { toolVersion } from '../load/sources.js';
import { jsonDiagnostic, jsonErrorDocument, type JsonError } from './json-output.js';
import { registerConfigCommands } from './commands/config-commands.js';
import { routeFleetArgv } from './commands/fleet.js';
import { registerIsoCommands } from './commands/iso-commands.js';

/** The main job, shown by the top-level --help. */
const EXAMPLE = 'build-iso --model spark-4tb --config spark-01.yaml --iso DGXOS-7.4.0-<date>-arm64.iso -o spark-01.iso';

export function buildProgram(opts: { json?: boolean } = {}): Command {
  const program = new Command('build-iso')
    .description('Build an unattended DGX OS 7.4.0 installer image for one DGX Spark from its YAML config.')
    .version(toolVersion(), '-V, --version')
    .option('--debug', 'on a failure, also show the exact tool command and raw OS error (or set FELLOWOS_DEBUG=1)')
    .showHelpAfterError(opts.json ? false : '(run build-iso --help for usage)')
    .configureOutput({
      // Usage errors: "build-iso: error: ..."; under --json the error document says it instead.
      outputError: (str, write) => {
        if (!opts.json) write(`build-iso: ${str}`);
      },
    })
    .exitOverride();
  registerIsoCommands(program);
  registerConfigCommands(program);
  const build = program.commands.find((c) => c.name() === 'build');
  if (build) {
    program.addHelpText('after', () => {
      const options = build.createHelp().visibleOptions(build).filter((o) => o.long !== '--help');
      const width = Math.max(...options.map((o) => o.flags.length));
      return [
        '',
        'Main job (the default command, "build"):',
        ...options.map((o) => `  ${o.flags.padEnd(width)}  ${o.description}`),
        '',
        'Example:',
        `  ${EXAMPLE}`,
        '',
        'Exit status: 0 ok, 1 config, media or input error, 2 usage error, 3 a tool failed, 130 interrupted.',
      ].join('\n');
    });
  }
  return program;
}

/** The command a run is for (for error documents): the first word that names one, else the default. */
function commandOf(program: Command, args: readonly string[]): string {
  const names = new Set(program.commands.map((c) => c.name()));
  return args.find((a) => names.has(a)) ?? 'build';
}

/** A first word that names no command is an unknown command, not operands for the default one. */
function checkCommandWord(program: Command, args: readonly string[]): void {
  const first = args[0];
  if (first === undefined || first.startsWith('-') || first === 'help') return;
  const names = program.commands.map((c) => c.name());
  if (names.includes(first)) return;
  const near = names.filter((n) => editDistance(n, first) <= Math.max(1, Math.floor(n.length / 3)));
  throw new UsageError(`unknown command '${first}'`, near.length ? `did you mean ${near.map((n) => `'${n}'`).join(' or ')}? (commands: ${names.join(', ')})` : `commands: ${names.join(', ')}`);
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const t = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + t);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

export interface ReportContext {
  json?: boolean;
  debug?: boolean;
  command?: string;
}

/** Turns typed errors into one line (or one line per diagnostic), or one JSON document under --json, and an exit status. */
export function reportError(e: unknown, ctx: ReportContext = {}): number {
  const err = (s: string) => process.stderr.write(`${s}\n`);
  const debug = ctx.debug ?? (process.env.FELLOWOS_DEBUG === '1' || Boolean(process.env.BUILD_ISO_DEBUG));
  const fail = (exitCode: number, error: JsonError['error'], text: () => void): number => {
    if (ctx.json) process.stdout.write(jsonErrorDocument({ command: ctx.command ?? 'build', exitCode, error }));
    else text();
    return exitCode;
  };
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return 0;
    // commander has printed the message itself (unless --json).
    return fail(2, { kind: 'usage', message: e.message.replace(/^error: /, '') }, () => undefined);
  }
  if (e instanceof ReportedFailure) {
    err(`build-iso: error: ${e.message}`);
    return e.exitCode;
  }
  if (e instanceof UsageError) {
    return fail(2, { kind: 'usage', message: e.message, ...(e.hint ? { hint: e.hint } : {}) }, () => {
      err(`build-iso: error: ${e.message}`);
      if (e.hint) err(`  hint: ${e.hint}`);
      err('(run build-iso --help for usage)');
    });
  }
  if (e instanceof ConfigError) {
    const n = e.diagnostics.filter((d) => d.severity === 'error').length;
    const summary = `${n} error${n === 1 ? '' : 's'} in ${e.file}; nothing was written`;
    return fail(
      1,
      {
        kind: 'config',
        message: summary,
        file: e.file,
        diagnostics: e.diagnostics.map(jsonDiagnostic),
      },
      () => {
        for (const d of e.diagnostics) err(formatDiagnostic(e.file, d));
        err(`build-iso: ${summary}`);
      },
    );
  }
  if (e instanceof UserError || e instanceof MediaError) {
    const extra = e instanceof UserError && debug ? e.debug : undefined;
    return fail(1, { kind: e instanceof MediaError ? 'media' : 'input', message: e.message, ...(e.hint ? { hint: e.hint } : {}) }, () => {
      err(`build-iso: error: ${e.message}`);
      if (e.hint) err(`  hint: ${e.hint}`);
      if (extra) err(extra.trim().replace(/^/gm, '  | '));
    });
  }
  if (e instanceof ToolError) {
    return fail(3, { kind: 'tool', message: e.message, toolCommand: e.command }, () => {
      err(`build-iso: error: ${e.message}`);
      err(`  command: ${e.command}`);
      if (e.stderr.trim()) err(e.stderr.trim().replace(/^/gm, '  | '));
    });
  }
  if (e instanceof InterruptedError) {
    // A stick write says what state the stick is in; everything else wrote nothing.
    const message = e.message === 'interrupted' ? 'interrupted; nothing was written' : e.message;
    return fail(130, { kind: 'interrupted', message }, () => err(`build-iso: ${message}`));
  }
  return fail(70, { kind: 'internal', message: (e as Error)?.message ?? String(e) }, () => {
    err(`build-iso: internal error: ${(e as Error)?.message ?? String(e)}`);
    if (debug) err(String((e as Error)?.stack));
    else err('  (run with --debug or FELLOWOS_DEBUG=1 for details, and please report it)');
  });
}

export async function main(rawArgv: string[]): Promise<number> {
  const argv = routeFleetArgv(rawArgv);
  const args = argv.slice(2);
  const end = args.indexOf('--');
  const flags = end === -1 ? args : args.slice(0, end);
  const json = flags.includes('--json');
  const debug = flags.includes('--debug') || process.env.FELLOWOS_DEBUG === '1';
  const program = buildProgram({ json });
  const ctx = { json, debug, command: commandOf(program, flags) };
  try {
    checkCommandWord(program, flags.filter((a) => a !== '--debug'));
    await program.parseAsync([...argv.slice(0, 2), ...args.filter((a, i) => a !== '--debug' || (end !== -1 && i > end))]);
    return 0;
  } catch (e) {
    return reportError(e, ctx);
  }
}
