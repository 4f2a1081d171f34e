/**
 * Parse YAML text into plain data while keeping a way back from a data path to
 * a line and column, so every later diagnostic can point into the file.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostic } from '../diagnostics/diagnostic.js';

export interface Position {
  line: number;
  col: number;
}

export interface ParsedYaml {
  data: unknown;
  /** Where the value at `path` starts; `key: true` asks for the key of a mapping entry instead. */
  locate(path: readonly (string | number)[], opts?: { key?: boolean }): Position;
  diagnostics: Diagnostic[];
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  const at = (offset: number): Position => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  const diagnostics: Diagnostic[] = [];
  for (const e of doc.errors) {
    const pos = at(e.pos[0]);
    const duplicate = e.code === 'DUPLICATE_KEY';
    diagnostics.push({
      severity: 'error',
      code: duplicate ? 'duplicate-key' : 'yaml-syntax',
      path: [],
      message: firstLine(e.message).toLowerCase(),
      hint: duplicate ? 'each key may appear once in a mapping; remove one of them' : 'fix the YAML syntax at this spot',
      ...pos,
    });
  }
  for (const w of doc.warnings) {
    diagnostics.push({ severity: 'warning', code: 'yaml-warning', path: [], message: firstLine(w.message).toLowerCase(), ...at(w.pos[0]) });
  }
  const data = diagnostics.some((d) => d.severity === 'error') ? undefined : doc.toJS({ maxAliasCount: 100 });
  return { data, locate: (path, opts) => locate(doc, path, opts?.key ?? false, at), diagnostics };
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? s;
}

function locate(
  doc: Document,
  path: readonly (string | number)[],
  wantKey: boolean,
  at: (offset: number) => Position,
): Position {
  let node: Node | null | undefined = doc.contents as Node | null;
  let best: Position = node?.range ? at(node.range[0]) : { line: 1, col: 1 };
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      const key = pair.key as Node;
      if (last && wantKey && key.range) return at(key.range[0]);
      const value = pair.value as Node | null;
      if (value?.range) best = at(value.range[0]);
      else if (key.range) best = at(key.range[0]);
      node = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) return best;
      if (item.range) best = at(item.range[0]);
      node = item;
    } else {
      return best;
    }
  }
  return best;
}
