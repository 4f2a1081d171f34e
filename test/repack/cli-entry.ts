/**
 * build-iso's CLI as a process of its own, straight from the TypeScript
 * sources (`node --import tsx test/repack/cli-entry.ts ARGS`): lets the tests
 * spawn a build to interrupt it.
 */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(['node', 'build-iso', ...process.argv.slice(2)]);
