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

/**
 * Text safe for a terminal: control characters (C0, DEL, C1), escape sequences and
 * the bidirectional overrides that can make text read other than it is are shown
 * as \xNN / \uNNNN, never sent raw.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => {
    const n = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** `FILE:LINE:COL: error[CODE]: message` and, when there is one, an indented hint line. */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  const where = d.line > 0 ? `${printable(file)}:${d.line}:${d.col}` : printable(file);
  const head = `${where}: ${d.severity}[${d.code}]: ${printable(d.message)}`;
  return d.hint ? `${head}\n  hint: ${printable(d.hint)}` : head;
}
