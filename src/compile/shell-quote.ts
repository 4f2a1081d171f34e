/** The one way a value reaches bash: as a single-quoted word, so it is always data and never code. */
export function shQuote(value: string | number | boolean): string {
  return `'${String(value).replaceAll("'", `'\\''`)}'`;
}
