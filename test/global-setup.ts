/**
 * Vitest global setup: build the stand-in boot media once before the suite.
 *
 * test/media/build-standins.sh is cached and idempotent (a no-op when nothing in
 * test/media changed, ~15 s cold). It runs only when its host tools and QEMU are
 * there; otherwise the boot tests skip themselves, and this prints one line saying
 * why. Under CI (process.env.CI set) nothing may be skipped silently: a missing tool
 * or a failed build throws and stops the run. On success it prints nothing.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGuests, guestUnavailable } from './helpers/guest.js';
import { qemuAvailable, QEMU_BINARY } from './helpers/qemu.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SCRIPT = 'test/media/build-standins.sh';

/** What build-standins.sh checks for, what it calls, and what boots the media. */
const HOST_TOOLS = [
  'bash', 'xorriso', 'mksquashfs', 'mformat', 'mcopy', 'mkfs.fat', 'grub-mkimage',
  'cpio', 'gzip', 'dpkg', 'dpkg-deb', 'apt-get', 'apt-cache', 'md5sum', 'sha256sum',
  QEMU_BINARY,
];

function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Why the boot media cannot be built here, or undefined when they can. */
function unavailable(): string | undefined {
  const missing = HOST_TOOLS.filter((t) => !onPath(t));
  if (missing.length > 0) {
    return `missing host tools: ${missing.join(', ')} (see the header of ${SCRIPT})`;
  }
  const qemu = qemuAvailable();
  return qemu.ok ? undefined : qemu.why;
}

function skipOrThrow(why: string): void {
  if (process.env.CI) {
    throw new Error(`global setup: boot tests cannot run in CI: ${why}`);
  }
  console.warn(`[global-setup] QEMU boot tests will be skipped: ${why}`);
}

export default function setup(): void {
  const why = unavailable();
  if (why !== undefined) {
    skipOrThrow(why);
    return;
  }
  const r = spawnSync('bash', [SCRIPT], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15 * 60_000,
  });
  if (r.error || r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    const cause = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    const last = output.split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
    if (process.env.CI) {
      throw new Error(`global setup: ${SCRIPT} failed (${cause}):\n${output}`);
    }
    skipOrThrow(`${SCRIPT} failed (${cause})${last ? `: ${last}` : ''}`);
  }
  setupGuests();
}

/**
 * The x86_64 guests of the real-install test bed (test/guest/build-guests.sh, cached;
 * about 10 min cold, a second when nothing changed), built here so that every test
 * file that boots one finds them. Where the test bed cannot run, those tests skip
 * and say why; under CI that is an error.
 */
function setupGuests(): void {
  const why = guestUnavailable();
  if (why !== undefined) {
    if (process.env.CI) throw new Error(`global setup: the real-install test bed cannot run in CI: ${why}`);
    console.warn(`[global-setup] real-install and USB tests will be skipped: ${why}`);
    return;
  }
  // Print the build's step times only when something was built.
  ensureGuests((s) => {
    if (/ took /.test(s)) process.stderr.write(s);
  });
}
