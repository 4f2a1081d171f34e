/**
 * `build-iso devices` and `build-iso write IMAGE DEVICE`; also the stick half of
 * `build-iso ... --write DEVICE` (prepareStick before the build, writeToStick after).
 */
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../diagnostics/errors.js';
import { describeModel, findPartition, type BlockDevice } from '../../stick/block-devices.js';
import { candidateDevices, decideTarget, describeErase, humanBytes, confirmationMatches, type Refusal } from '../../stick/device-policy.js';
import { inputsOnDisks, listBlockDevices, resolveDeviceName } from '../../stick/read-devices.js';
import { BLOCK_BYTES, type WritePlan } from '../../stick/write-plan.js';
import { powerOffStick, type PowerOffResult } from '../../stick/power-off.js';
import { supportsDirect, writeStick, type StickResult, type WriteSource } from '../../stick/write-stick.js';
import { jsonDocument } from '../json-output.js';
import { stickProgressPrinter } from '../stick-progress.js';

export interface StickFlags {
  yes?: boolean;
  deviceSerial?: string;
  allowNonRemovable?: boolean;
  unmount?: boolean;
  /** After the read-back passed, power the stick off (as "safely remove" does). */
  powerOff?: boolean;
}

/** A written and verified stick, and whether it was powered off afterwards. */
export interface WrittenStick extends StickResult {
  poweredOff?: PowerOffResult['done'];
  /** Why powering off failed (the stick is good all the same). */
  powerOffProblem?: string;
}

/** The gravest reason first: the running system, pools and holders before the rest. */
const GRAVITY: Refusal['code'][] = ['system-file-system', 'swap', 'member', 'in-use', 'holds-input', 'not-a-disk', 'no-medium', 'read-only', 'too-small', 'mounted', 'not-removable'];

function refusalError(device: string, refusals: Refusal[]): UserError {
  const [first, ...rest] = [...refusals].sort((a, b) => GRAVITY.indexOf(a.code) - GRAVITY.indexOf(b.code));
  const more = rest.map((r) => `; ${r.message}`).join('');
  return new UserError(`will not write ${device}: ${first!.message}${more}`, first!.hint ?? rest.find((r) => r.hint)?.hint);
}

/** Runs `fn` with an AbortSignal that SIGINT/SIGTERM trigger; the handlers are removed afterwards. */
export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function askToType(device: BlockDevice): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const typed = await rl.question(`type ${device.name} to erase it (anything else stops): `);
    return confirmationMatches(typed, device);
  } finally {
    rl.close();
  }
}

/**
 * Everything before the first byte is written: find the device, apply the policy
 * with the image's size and the files the run reads, and get the user's consent.
 */
export async function prepareStick(deviceArg: string, flags: StickFlags, ctx: { imageBytes: number; inputs: { what: string; path: string }[] }): Promise<{ plan: WritePlan; device: BlockDevice; warnings: string[]; powerOff: boolean }> {
  if (flags.allowNonRemovable && !flags.deviceSerial) {
    throw new UsageError('--allow-non-removable needs --device-serial SERIAL too', 'see the serial with build-iso devices --all');
  }
  const interactive = process.stdin.isTTY === true && process.stderr.isTTY === true;
  if (!interactive && !(flags.yes && flags.deviceSerial)) {
    throw new UsageError('without a terminal to confirm on, writing a device needs --yes --device-serial SERIAL', 'the serial pins the exact stick; see it with build-iso devices');
  }
  const path = await resolveDeviceName(deviceArg);
  const devices = await listBlockDevices();
  const device = devices.find((d) => d.path === path);
  if (!device) {
    const part = findPartition(devices, path);
    if (part) throw new UserError(`${path} is a partition of ${part.disk.path}`, `name the whole stick: ${part.disk.path}`);
    throw new UserError(`${path} is not a disk lsblk knows`, 'list the devices with build-iso devices');
  }
  const inputs = await inputsOnDisks(ctx.inputs);
  const decision = decideTarget(device, flags, { imageBytes: ctx.imageBytes, inputs });
  if (!decision.ok) throw refusalError(device.path, decision.refusals);
  if (!(flags.yes && flags.deviceSerial)) {
    process.stderr.write(`this erases everything on:\n${describeErase(device).join('\n')}\n`);
    if (!(await askToType(device))) throw new UserError(`not confirmed; nothing was written to ${device.path}`);
  }
  const plan: WritePlan = {
    target: device.path,
    sysName: device.name,
    imageBytes: ctx.imageBytes,
    blockBytes: BLOCK_BYTES,
    direct: supportsDirect(device.path),
    unmount: decision.unmount,
  };
  return { plan, device, warnings: decision.warnings, powerOff: flags.powerOff === true };
}

/** Write, read back, and say so; "ready" only after the read-back matched. */
export async function writeToStick(p: { plan: WritePlan; device: BlockDevice; powerOff?: boolean }, source: WriteSource, opts: { expectSha256?: string; json?: boolean } = {}): Promise<WrittenStick> {
  const progress = stickProgressPrinter(process.stderr);
  const result: WrittenStick = await interruptible((signal) =>
    writeStick(p.plan, source, { signal, onProgress: (x) => progress.update(x), ...(opts.expectSha256 ? { expectSha256: opts.expectSha256 } : {}) }).finally(() => progress.end()),
  );
  if (p.powerOff && p.plan.sysName) {
    try {
      result.poweredOff = (await powerOffStick(p.plan.sysName)).done;
    } catch (e) {
      result.powerOffProblem = (e as Error).message;
    }
  }
  return result;
}

export function describeStickResult(r: WrittenStick, d: BlockDevice): string[] {
  const rate = (bytes: number, ms: number) => `${(bytes / 1e6 / Math.max(ms / 1000, 0.001)).toFixed(1)} MB/s`;
  return [
    `wrote ${humanBytes(r.bytes)} to ${r.target} (${describeModel(d)}, serial ${d.serial ?? 'none'}) in ${(r.writeMs / 1000).toFixed(1)} s, ${rate(r.bytes, r.writeMs)}${r.direct ? '' : ' (page cache flushed; no O_DIRECT here)'}`,
    `verified: read ${humanBytes(r.bytes)} back from ${r.target} in ${(r.verifyMs / 1000).toFixed(1)} s, sha256 ${r.sha256}`,
    ...(r.powerOffProblem ? [`warning: could not power the stick off: ${r.powerOffProblem}`] : []),
    r.poweredOff ? `ready: the stick is ${r.poweredOff}; you can remove it` : 'ready: you can remove the stick',
  ];
}

/** The sha256 in IMAGE.sha256 when it exists (sha256sum format). */
export async function sha256FileFor(image: string): Promise<string | undefined> {
  const text = await readFile(`${image}.sha256`, 'utf8').catch(() => undefined);
  const m = text ? /^([0-9a-f]{64})\s/.exec(text) : null;
  return m?.[1];
}

function deviceJson(d: BlockDevice, refusals: Refusal[]) {
  return {
    path: d.path,
    name: d.name,
    sizeBytes: d.size,
    transport: d.transport ?? null,
    removable: d.removable,
    vendor: d.vendor ?? null,
    model: d.model ?? null,
    serial: d.serial ?? null,
    partitions: d.partitions.map((p) => ({ path: p.path, sizeBytes: p.size, fstype: p.fstype ?? null, label: p.label ?? null, mountpoints: p.mountpoints })),
    allowed: refusals.length === 0,
    refusals: refusals.map((r) => ({ code: r.code, message: r.message })),
  };
}

export function register(program: Command): void {
  program
    .command('devices')
    .description('list the USB sticks and cards build-iso may write (vendor, model, serial, size, transport, partitions)')
    .option('--all', 'list every disk, with the reason each one is refused', false)
    .option('--json', 'print the list as JSON', false)
    .action(async (o: { all: boolean; json: boolean }) => {
      const list = candidateDevices(await listBlockDevices()).filter((c) => o.all || c.refusals.length === 0);
      if (o.json) {
        process.stdout.write(jsonDocument('devices', { devices: list.map((c) => deviceJson(c.device, c.refusals)) }));
        return;
      }
      if (!list.length) {
        process.stdout.write(`no USB stick or card found${o.all ? '' : ' (build-iso devices --all shows why each disk is refused)'}\n`);
        return;
      }
      const lines: string[] = [];
      for (const { device: d, refusals } of list) {
        const parts = d.partitions.map((p) => `${p.name}${p.fstype ? ` ${p.fstype}` : ''}${p.label ? ` '${p.label}'` : ''}${p.mountpoints.length ? ` on ${p.mountpoints.join(',')}` : ''}`).join('; ');
        lines.push(`${d.path}  ${humanBytes(d.size)}  ${d.transport ?? '-'}  ${describeModel(d)}  serial ${d.serial ?? '(none)'}${parts ? `  [${parts}]` : ''}`);
        for (const r of refusals) lines.push(`  refused: ${r.message}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  program
    .command('write')
    .description('write a built image to a USB stick and verify it by reading it back')
    .argument('<image>', 'the built ISO image')
    .argument('<device>', 'the whole stick, e.g. /dev/sdb or /dev/disk/by-id/usb-...')
    .option('--yes', 'do not ask; needs --device-serial', false)
    .option('--device-serial <serial>', "the stick's serial (see build-iso devices): the write stops if the device has another")
    .option('--allow-non-removable', 'allow a fixed disk (needs --device-serial)', false)
    .option('--unmount', "unmount the stick's own mounted partitions first", false)
    .option('--power-off', 'power the stick off once it is verified', false)
    .option('--json', 'print the result as JSON', false)
    .action(async (image: string, deviceArg: string, o: StickFlags & { json: boolean }) => {
      const st = await stat(image).catch(() => undefined);
      if (!st) throw new UserError(`${image}: no such file`, 'build the image first, or give the path of the .iso file');
      if (!st.isFile()) throw new UserError(`${image} is not a regular file`, 'give the path of the built .iso file');
      const prepared = await prepareStick(deviceArg, o, { imageBytes: st.size, inputs: [{ what: `the image ${image}`, path: image }] });
      const expect = await sha256FileFor(image);
      const r = await writeToStick(prepared, { kind: 'file', path: image, bytes: st.size }, { ...(expect ? { expectSha256: expect } : {}) });
      if (o.json) {
        process.stdout.write(jsonDocument('write', { device: r.target, serial: prepared.device.serial ?? null, bytes: r.bytes, sha256: r.sha256, writeMs: r.writeMs, verifyMs: r.verifyMs, direct: r.direct, verified: true, poweredOff: r.poweredOff ?? null, warnings: [...prepared.warnings, ...(r.powerOffProblem ? [`could not power the stick off: ${r.powerOffProblem}`] : [])] }));
        return;
      }
      process.stdout.write(`${[...prepared.warnings.map((w) => `warning: ${w}`), ...describeStickResult(r, prepared.device)].join('\n')}\n`);
    });
}
