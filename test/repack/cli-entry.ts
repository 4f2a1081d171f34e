/**
 * build-iso's ISO commands on their own, with the CLI's error boundary: lets the
 * tests spawn a build (e.g. to interrupt it) without the rest of the program.
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { reportError } from '../../src/cli/main.js';
import { register as registerBuild } from '../../src/cli/commands/build.js';
import { register as registerInspect } from '../../src/cli/commands/inspect.js';
import { register as registerVerify } from '../../src/cli/commands/verify.js';

export function isoProgram(): Command {
  const program = new Command('build-iso').exitOverride();
  registerBuild(program);
  registerInspect(program);
  registerVerify(program);
  return program;
}

export async function runIsoCli(argv: string[]): Promise<number> {
  try {
    await isoProgram().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

/** Runs `fn` with stdout and stderr captured. */
export async function captured(fn: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runIsoCli(process.argv.slice(2));
}
