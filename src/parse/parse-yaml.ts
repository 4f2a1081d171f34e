/**
 * Parse YAML text into plain data while keeping a way back from a data path to
 * a line and column, so every later diagnostic can point into the file.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
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
  const error = (code: string, message: string, hint: string, offset: number) =>
    diagnostics.push({ severity: 'error', code, path: [], message, hint, ...at(offset) });
  for (const e of doc.errors) {
    if (e.code === 'DUPLICATE_KEY') error('duplicate-key', firstLine(e.message).toLowerCase(), 'each key may appear once in a mapping; remove one of them', e.pos[0]);
    else if (e.code === 'MULTIPLE_DOCS') error('several-documents', "the file holds more than one YAML document (a second '---' starts another)", "one file describes one machine: remove the second '---' and what follows, or move it to its own file", e.pos[0]);
    else if (/call stack/i.test(e.message)) error('too-deep', `the YAML nests deeper than a device config can (more than ${MAX_DEPTH} levels)`, 'a device config is a few levels deep; check the brackets and indentation here', e.pos[0]);
    else error('yaml-syntax', ownWords(firstLine(e.message)), 'fix the YAML syntax at this spot', e.pos[0]);
  }
  for (const w of doc.warnings) {
    if (w.code === 'TAG_RESOLVE_FAILED') error('yaml-tag', `the YAML tag here (${firstLine(w.message).replace(/^.*: /, '')}) is not used in a device config`, 'remove the tag and write the plain value', w.pos[0]);
    else diagnostics.push({ severity: 'warning', code: 'yaml-warning', path: [], message: ownWords(firstLine(w.message)), ...at(w.pos[0]) });
  }
  if (!diagnostics.some((d) => d.severity === 'error')) checkStructure(doc, error);
  let data: unknown;
  if (!diagnostics.some((d) => d.severity === 'error')) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch {
      // Only alias expansion can throw here (checkStructure ruled out the rest).
      error('yaml-alias', 'the aliases in this file expand to far more data than a device config holds', 'write the values out instead of repeating aliases of aliases', firstAlias(doc) ?? 0);
    }
  }
  return { data, locate: (path, opts) => locate(doc, path, opts?.key ?? false, at), diagnostics };
}

/** Nesting deeper than this is refused; a device config uses about five levels. */
const MAX_DEPTH = 32;
const MAX_ALIAS_COUNT = 100;

/** The yaml library's messages in this tool's words: lower-case, and never advice about the library's API. */
function ownWords(message: string): string {
  return message.replace(/;?\s*please use [^.;]*/i, '').replace(/yaml\.\w+\(\)/gi, 'the parser').toLowerCase();
}

/**
 * One walk over the parsed nodes, without recursion: depth, aliases before their
 * anchor, and YAML 1.1 merge keys (`<<`), which YAML 1.2 reads as a plain key.
 */
function checkStructure(doc: Document, error: (code: string, message: string, hint: string, offset: number) => void): void {
  const anchors = new Map<string, number>();
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  const nodes: { node: Node; depth: number }[] = [];
  while (stack.length) {
    const { node, depth } = stack.pop()!;
    if (!node || typeof node !== 'object') continue;
    const n = node as Node;
    nodes.push({ node: n, depth });
    if (isMap(n)) {
      for (const pair of n.items) {
        stack.push({ node: pair.value, depth: depth + 1 });
        stack.push({ node: pair.key, depth: depth + 1 });
      }
    } else if (isSeq(n)) {
      for (let i = n.items.length - 1; i >= 0; i--) stack.push({ node: n.items[i], depth: depth + 1 });
    }
  }
  let tooDeep = false;
  for (const { node, depth } of nodes) {
    const offset = node.range?.[0] ?? 0;
    if (depth > MAX_DEPTH && !tooDeep) {
      tooDeep = true;
      error('too-deep', `the YAML nests deeper than a device config can (more than ${MAX_DEPTH} levels)`, 'a device config is a few levels deep; check the brackets and indentation here', offset);
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && (pair.key.value === '__proto__' || pair.key.value === 'constructor' || pair.key.value === 'prototype')) {
          error('unknown-key', `unknown key '${String(pair.key.value)}'`, 'remove it', pair.key.range?.[0] ?? offset);
        }
        if (isScalar(pair.key) && pair.key.value === '<<') {
          error('yaml-merge-key', "merge keys ('<<') are not supported in a device config", 'write the keys out in this mapping', pair.key.range?.[0] ?? offset);
        }
      }
    }
  }
  // Anchors and aliases in document order: an alias must come after its anchor.
  const ordered = nodes.map((x) => x.node).sort((a, b) => (a.range?.[0] ?? 0) - (b.range?.[0] ?? 0));
  for (const node of ordered) {
    const offset = node.range?.[0] ?? 0;
    if (isAlias(node)) {
      const anchorAt = anchors.get(node.source);
      if (anchorAt === undefined || anchorAt > offset) {
        error('yaml-alias', `alias '*${node.source}' comes before its anchor '&${node.source}', or there is no such anchor`, `define '&${node.source}' first, or write the value out`, offset);
      }
    } else if ((node as { anchor?: string }).anchor) {
      anchors.set((node as { anchor: string }).anchor, offset);
    }
  }
}

function firstAlias(doc: Document): number | undefined {
  let found: number | undefined;
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const n = stack.pop();
    if (!n || typeof n !== 'object') continue;
    if (isAlias(n)) found = Math.min(found ?? Infinity, n.range?.[0] ?? 0);
    else if (isMap(n)) for (const p of n.items) stack.push(p.key, p.value);
    else if (isSeq(n)) stack.push(...n.items);
  }
  return found;
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
