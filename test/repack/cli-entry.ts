/**
 * build-iso's ISO commands on their own, with the CLI's error boundary: lets the
 * tests spawn a build (e.g. to interrupt it) without the rest of the program.
 */
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

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = await runIsoCli(process.argv.slice(2));
}
