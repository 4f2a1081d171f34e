/**
 * The ISO 9660 volume descriptors at the start of an image (ECMA-119 §8): enough
 * to tell an ISO from anything else and a whole image from a truncated one,
 * before any tool is run. Pure: bytes in, facts out.
 */

export const SECTOR = 2048;
/** Volume descriptors start at sector 16. */
export const DESCRIPTORS_OFFSET = 16 * SECTOR;
/** How many descriptors to look through for the primary one. */
export const MAX_DESCRIPTORS = 16;

export interface PrimaryVolume {
  volumeId: string;
  /** Volume space size, in logical blocks. */
  blocks: number;
  logicalBlockSize: number;
  /** blocks × logical block size: how long the image says it is. */
  bytes: number;
  /** The volume's modification date (else its creation date) in seconds since 1970, when it carries one. */
  dateEpoch?: number;
}

/**
 * An ECMA-119 §8.4.26.1 date: 16 digits YYYYMMDDhhmmsscc and a signed offset
 * from GMT in 15-minute steps. Undefined for the "not specified" all-zero form.
 */
export function parseVolumeDate(field: Buffer): number | undefined {
  const digits = field.toString('latin1', 0, 16);
  if (!/^\d{16}$/.test(digits) || /^0+$/.test(digits)) return undefined;
  const n = (a: number, b: number) => Number(digits.slice(a, b));
  const utc = Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14));
  if (Number.isNaN(utc)) return undefined;
  const offsetMinutes = field.readInt8(16) * 15;
  return Math.floor(utc / 1000) - offsetMinutes * 60;
}

/**
 * The primary volume descriptor among the descriptors in `head` (which starts at
 * byte 32768 of the image), or undefined when there is no ISO 9660 volume.
 */
export function findPrimaryVolume(head: Buffer): PrimaryVolume | undefined {
  for (let k = 0; k < MAX_DESCRIPTORS; k++) {
    const d = head.subarray(k * SECTOR, (k + 1) * SECTOR);
    if (d.length < SECTOR) return undefined;
    if (d.toString('latin1', 1, 6) !== 'CD001') return undefined;
    const type = d[0];
    if (type === 255) return undefined;
    if (type !== 1) continue;
    const blocks = d.readUInt32LE(80);
    const logicalBlockSize = d.readUInt16LE(128);
    const dateEpoch = parseVolumeDate(d.subarray(830, 847)) ?? parseVolumeDate(d.subarray(813, 830));
    return {
      ...(dateEpoch === undefined ? {} : { dateEpoch }),
      volumeId: d.toString('latin1', 40, 72).replace(/[ \0]+$/, ''),
      blocks,
      logicalBlockSize,
      bytes: blocks * logicalBlockSize,
    };
  }
  return undefined;
}

/** Missing bytes when the image file is shorter than its volume says (0 when whole). */
export function missingBytes(volume: PrimaryVolume, fileSize: number): number {
  return Math.max(0, volume.bytes - fileSize);
}
