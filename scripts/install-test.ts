/**
 * The real install of one config, end to end, in the test bed (x86_64 guests under
 * QEMU; see README "What is and is not proven"):
 *
 *   npm run install-test -- --model spark-4tb --config test/fixtures/configs/example-spark-4tb.yaml [--disk-bytes N] [--keep DIR]
 *
 * Builds the guests if needed (cached in .cache/guest), installs with the real curtin
 * and OpenZFS onto a sparse NVMe (default: the model's smallest accepted size), boots
 * it twice through UEFI and checks the installed system from inside. Each stage's
 * time goes to stderr; the last line on stdout is one JSON document:
 *   {"installed":true,"booted":true,"checks":[{"name":"...","ok":true,"detail":"..."}],...}
 * Exit status 0 only if it installed, booted and every check held; 1 otherwise; 2 for
 * a usage error.
 */
import { parseArgs } from 'node:util';
import { ensureGuests, guestUnavailable } from '../test/helpers/guest.js';
import { runInstall } from '../test/install-bed/install-run.js';

function usage(message: string): never {
  process.stderr.write(`install-test: ${message}\nusage: npm run install-test -- --model M --config FILE [--disk-bytes N] [--keep DIR] [--boots N] [--smp N]\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: { model: { type: 'string' }, config: { type: 'string' }, 'disk-bytes': { type: 'string' }, keep: { type: 'string' }, boots: { type: 'string' }, smp: { type: 'string' } },
    strict: true,
  }));
} catch (err) {
  usage((err as Error).message);
}
if (!values.model) usage('--model is required');
if (!values.config) usage('--config is required');
const diskBytes = values['disk-bytes'] === undefined ? undefined : Number(values['disk-bytes']);
if (diskBytes !== undefined && (!Number.isSafeInteger(diskBytes) || diskBytes <= 0 || diskBytes % 512 !== 0)) {
  usage('--disk-bytes must be a whole number of 512-byte sectors');
}
const why = guestUnavailable();
if (why) {
  process.stderr.write(`install-test: the test bed cannot run here: ${why}\n`);
  process.exit(1);
}

const t0 = Date.now();
const say = (s: string) => process.stderr.write(`install-test: ${s}\n`);
try {
  ensureGuests((s) => process.stderr.write(s));
  const r = await runInstall({
    model: values.model,
    config: values.config,
    ...(diskBytes !== undefined ? { diskBytes } : {}),
    ...(values.keep ? { workDir: values.keep } : {}),
    ...(values.boots ? { boots: Number(values.boots) } : {}),
    ...(values.smp ? { smp: Number(values.smp) } : {}),
    log: say,
  });
  for (const s of r.stages) say(`${s.stage}: ${s.ok ? 'ok' : 'FAILED'} in ${s.seconds} s`);
  for (const c of r.checks) say(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  if (r.error) say(r.error);
  say(`total ${Math.round((Date.now() - t0) / 1000)} s (${r.accel || 'no guest started'})`);
  const ok = r.installed && r.booted && r.checks.every((c) => c.ok);
  process.stdout.write(`${JSON.stringify({ installed: r.installed, booted: r.booted, checks: r.checks, stages: r.stages, accel: r.accel, ...(r.error ? { error: r.error.split('\n')[0] } : {}) })}\n`);
  process.exit(ok ? 0 : 1);
} catch (err) {
  say((err as Error).message);
  process.stdout.write(`${JSON.stringify({ installed: false, booted: false, checks: [], error: (err as Error).message.split('\n')[0] })}\n`);
  process.exit(1);
}
