import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The guest tests take most of the run (the real installs about half an hour, the
 * USB stick guest about a quarter of that under TCG): start them first, on their own
 * workers, and let everything else share the remaining time.
 */
const FIRST = ['test/install-bed/install.test.ts', 'test/stick/stick-guest.test.ts'];

class GuestsFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i === -1 ? FIRST.length : i;
    };
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
    sequence: { sequencer: GuestsFirst },
  },
});
