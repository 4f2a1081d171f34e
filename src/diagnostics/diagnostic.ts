/** A problem found in a config, a model or a base image. Problems are data; only the CLI decides what is fatal. */
export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable, kebab-case code, shown as error[CODE]. */
  code: string;
  /** Path inside the config document, e.g. ['admin', 'username']. Empty for whole-file problems. */
  path: (string | number)[];
  message: string;
  hint?: string;
  /** 1-based; 0 when unknown. */
  line: number;
  col: number;
}

export interface Report {
  diagnostics: Diagnostic[];
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** `FILE:LINE:COL: error[CODE]: message` and, when there is one, an indented hint line. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const where = d.line > 0 ? `${file}:${d.line}:${d.col}` : file;
  const head = `${where}: ${d.severity}[${d.code}]: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}
