import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The real installs take most of the run (about half an hour, two guests at a time):
 * they start first, on a worker of their own, and everything else shares the other
 * worker; the USB stick guest goes last there, so the short aarch64 boots (60 s limits)
 * do not compete with three x86_64 guests at once.
 */
const FIRST = ['test/install-bed/install.test.ts'];
const LAST = ['test/stick/stick-guest.test.ts'];

class GuestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => (FIRST.some((p) => f.moduleId.endsWith(p)) ? 0 : LAST.some((p) => f.moduleId.endsWith(p)) ? 2 : 1);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the stand-in boot media and the test-bed guests (cached), or says why the
    // tests that boot them will skip.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    pool: 'forks',
    // Two workers on two cores (vitest would use one): the installs on one, the rest on the other.
    maxWorkers: 2,
    minWorkers: 1,
    sequence: { sequencer: GuestsFirst },
  },
});
