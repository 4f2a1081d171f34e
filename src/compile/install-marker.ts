/**
 * The mark a finished install leaves on the disk it installed: the GPT name of the
 * target disk's partition 1 (the ESP). The last late-command writes it with sgdisk;
 * the hardware guard of the same build reads it back from sysfs (PARTNAME) and refuses
 * to erase that disk again, so a stick left in a machine that boots USB first does not
 * reinstall it on every reboot (shutdown: reboot).
 */

/** GPT partition number the mark is written to: the ESP, first in every layout we emit. */
export const INSTALL_MARK_PARTITION = 1;

/** The mark for one build: `fellowos-` and the first 16 hex digits of the config's sha256. */
export function installMarker(configSha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(configSha256)) throw new Error(`not a sha256: '${configSha256}'`);
  return `fellowos-${configSha256.slice(0, 16)}`;
}
