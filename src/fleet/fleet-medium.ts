/**
 * A built fleet medium, read back: its machines (from fleet/machines.json) and a
 * check of each one — its config is on the medium with the recorded bytes, valid
 * against subiquity's schema, its scripts are there, it has its own GRUB entry,
 * and the selector knows it. Reads the image; writes nothing.
 */
import { parse as parseYamlText } from 'yaml';
import { sha256 } from '../compile/manifest.js';
import { AUTOINSTALL_PATH_ARG, LIVE_MEDIUM_MOUNT, MEDIUM_FOLDER } from '../compile/plan.js';
import { autoinstallSchemaProblems } from '../repack/autoinstall-schema.js';
import { allEntries, parseGrubScript } from '../repack/grub-script.js';
import { withIsoImage, type IsoImage } from '../repack/iso-image.js';
import { GRUB_CFG_PATH } from '../repack/medium-edits.js';
import { mediumScripts, type VerifyCheck } from '../repack/verify.js';
import { describeMatch } from './fleet-file.js';
import { FLEET_INDEX, SELECTOR_SCRIPT, type FleetIndex } from './fleet-plan.js';

const INDEX_PATH = `/${MEDIUM_FOLDER}/${FLEET_INDEX}`;

export async function readFleetIndex(iso: IsoImage): Promise<FleetIndex | undefined> {
  const text = await iso.readText(INDEX_PATH);
  if (text === undefined) return undefined;
  const index = JSON.parse(text) as FleetIndex;
  return index.kind === 'fleet' && Array.isArray(index.machines) ? index : undefined;
}

export async function fleetOf(path: string): Promise<FleetIndex | undefined> {
  return withIsoImage(path, readFleetIndex);
}

/** Checks for every machine of a fleet medium; none when the image is not a fleet. */
export async function fleetChecks(path: string): Promise<{ index?: FleetIndex; checks: VerifyCheck[] }> {
  return withIsoImage(path, async (iso) => {
    const index = await readFleetIndex(iso);
    if (!index) return { checks: [] };
    const checks: VerifyCheck[] = [];
    const grubText = (await iso.readText(GRUB_CFG_PATH)) ?? '';
    const entries = allEntries(parseGrubScript(grubText).menu).map(({ entry }) => entry);
    const selector = (await iso.readText(`/${MEDIUM_FOLDER}/${SELECTOR_SCRIPT}`)) ?? '';
    checks.push({ name: 'fleet', status: 'pass', detail: `${index.machines.length} machine(s) for ${index.model}: ${index.machines.map((m) => m.name).join(', ')}` });
    for (const m of index.machines) {
      const name = `fleet machine ${m.name}`;
      const problems: string[] = [];
      const onMedium = m.autoinstallPath.slice(LIVE_MEDIUM_MOUNT.length);
      const bytes = await iso.read(onMedium);
      if (!bytes) problems.push(`${m.autoinstallPath} is not on the medium`);
      else {
        if (sha256(bytes) !== m.autoinstallSha256) problems.push(`${m.autoinstallPath} has other bytes than the fleet index records`);
        try {
          const doc = parseYamlText(bytes.toString('utf8'), { version: '1.1' }) as { autoinstall?: Record<string, unknown> };
          const section = doc?.autoinstall;
          if (!section) problems.push('its config has no autoinstall: section');
          else {
            const schema = autoinstallSchemaProblems(section);
            if (schema.length) problems.push(`fails subiquity's schema: ${schema.slice(0, 3).join('; ')}`);
            const named = ['early-commands', 'late-commands'].flatMap((k) => (Array.isArray(section[k]) ? (section[k] as unknown[]) : []).flatMap(mediumScripts));
            const missing = named.filter((p) => !iso.has(p.slice(LIVE_MEDIUM_MOUNT.length)));
            if (missing.length) problems.push(`scripts missing: ${missing.join(', ')}`);
            if (!named.some((p) => p.startsWith(`${LIVE_MEDIUM_MOUNT}/${m.folder}/`))) problems.push(`its commands do not run its own scripts in /${m.folder}`);
          }
        } catch (e) {
          problems.push(`its config is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      const entry = entries.find((e) => e.id === m.entryId);
      const args = entry?.kernels[0]?.words.map((w) => w.value) ?? [];
      if (!entry) problems.push(`no GRUB entry --id ${m.entryId}`);
      else if (!args.includes(`${AUTOINSTALL_PATH_ARG}${m.autoinstallPath}`)) problems.push(`GRUB entry ${m.entryId} does not point at ${m.autoinstallPath}`);
      if (!selector.includes(`'${m.folder}'`)) problems.push('the selector does not know this machine');
      if (problems.length) checks.push({ name, status: 'fail', detail: problems.join('; ') });
      else checks.push({ name, status: 'pass', detail: `${m.hostname} (${describeMatch(m.match)}): config, scripts, GRUB entry '${entry!.title}', selector` });
    }
    return { index, checks };
  });
}
