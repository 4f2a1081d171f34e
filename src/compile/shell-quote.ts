/**
 * The one way a value reaches bash: as a single word that is always data and
 * never code. Plain printable ASCII goes in single quotes; anything else
 * (non-ASCII, control characters) as a $'...' word with \xHH escapes, so the
 * script stays ASCII and every byte arrives exactly.
 */
export function shQuote(value: string | number | boolean): string {
  const s = String(value);
  if (/^[\x20-\x7e]*$/.test(s)) return `'${s.replaceAll("'", `'\\''`)}'`;
  let out = "$'";
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x27) out += "\\'";
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `${out}'`;
}
