/**
 * Just enough of GRUB's script language to find menu entries and their kernel
 * lines in a grub.cfg, with exact text offsets so an edit can leave every other
 * byte alone. Pure: text in, structure out.
 *
 * Lexing follows GRUB's own rules (grub-core/script/yylex.l): words are broken at
 * blanks and at `{ } | & $ ; < >`-style metacharacters, `'...'` is literal,
 * `"..."` honours `\\ \" \$` and line continuation, a backslash outside quotes
 * escapes any character, `#` starts a comment only where a word could start.
 */

export interface GrubWord {
  /** The word as written, quotes and escapes included. */
  raw: string;
  /** The word after quote removal; `$var` references are kept as written. */
  value: string;
  start: number;
  end: number;
}

/** One simple command: words up to a newline, `;`, `{` or `}`. */
export interface GrubCommand {
  words: GrubWord[];
  start: number;
  end: number;
  /** 1-based line of the first word. */
  line: number;
}

export interface GrubMenuNode {
  kind: 'menuentry' | 'submenu';
  title: string;
  /** The `--id` option, when given. */
  id?: string;
  /** The menuentry/submenu command itself (up to, not including, its `{`). */
  header: GrubCommand;
  /** Offset just after `{` and of the matching `}`. */
  bodyStart: number;
  bodyEnd: number;
  /** Offset just after the closing `}`. */
  end: number;
  /** Kernel-loading commands (`linux`, `linuxefi`) anywhere in the body, outside nested entries. */
  kernels: GrubCommand[];
  /** `initrd` / `initrdefi` commands in the body. */
  initrds: GrubCommand[];
  /** Entries inside a submenu. */
  children: GrubMenuNode[];
}

export interface GrubScript {
  text: string;
  /** Top-level entries and submenus, in order (GRUB numbers these for `set default`). */
  menu: GrubMenuNode[];
  /** Commands outside any menu entry or submenu (e.g. `set timeout=30`). */
  topLevel: GrubCommand[];
}

type Token =
  | { kind: 'word'; word: GrubWord; line: number }
  | { kind: 'sep'; start: number; end: number }
  | { kind: 'open'; start: number; end: number }
  | { kind: 'close'; start: number; end: number };

const BREAK = new Set([' ', '\t', '\n', '\r', ';', '&', '|', '<', '>', '{', '}']);

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\n' || c === ';' || c === '&' || c === '|' || c === '<' || c === '>') {
      tokens.push({ kind: 'sep', start: i, end: i + 1 });
      if (c === '\n') line++;
      i++;
      continue;
    }
    if (c === '{' || c === '}') {
      tokens.push({ kind: c === '{' ? 'open' : 'close', start: i, end: i + 1 });
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    // A word: runs until an unquoted break character.
    const start = i;
    const startLine = line;
    let value = '';
    while (i < n) {
      const ch = text[i]!;
      if (BREAK.has(ch)) break;
      if (ch === '\\') {
        const next = text[i + 1];
        if (next === undefined) {
          i++;
          break;
        }
        if (next === '\n') {
          i += 2;
          line++;
          continue;
        }
        value += next;
        i += 2;
        continue;
      }
      if (ch === "'") {
        const close = text.indexOf("'", i + 1);
        const stop = close === -1 ? n : close;
        const body = text.slice(i + 1, stop);
        line += countNewlines(body);
        value += body;
        i = close === -1 ? n : close + 1;
        continue;
      }
      if (ch === '"') {
        i++;
        while (i < n && text[i] !== '"') {
          const d = text[i]!;
          if (d === '\\') {
            const next = text[i + 1];
            if (next === '\n') {
              i += 2;
              line++;
              continue;
            }
            if (next === '\\' || next === '"' || next === '$') {
              value += next;
              i += 2;
              continue;
            }
          }
          if (d === '\n') line++;
          value += d;
          i++;
        }
        i++;
        continue;
      }
      if (ch === '$' && text[i + 1] === '{') {
        // ${name}: the braces belong to the variable reference, not to a block.
        const close = text.indexOf('}', i + 2);
        const stop = close === -1 ? n : close + 1;
        value += text.slice(i, stop);
        i = stop;
        continue;
      }
      value += ch;
      i++;
    }
    tokens.push({ kind: 'word', word: { raw: text.slice(start, i), value, start, end: i }, line: startLine });
  }
  return tokens;
}

function countNewlines(s: string): number {
  let k = 0;
  for (const ch of s) if (ch === '\n') k++;
  return k;
}

/** Options of menuentry/submenu that take a value. */
const OPTIONS_WITH_VALUE = new Set(['--class', '--users', '--hotkey', '--id']);

function titleAndId(words: GrubWord[]): { title: string; id?: string } {
  let title: string | undefined;
  let id: string | undefined;
  for (let k = 1; k < words.length; k++) {
    const v = words[k]!.value;
    if (v.startsWith('--id=')) {
      id = v.slice(5);
      continue;
    }
    if (OPTIONS_WITH_VALUE.has(v)) {
      if (v === '--id') id = words[k + 1]?.value;
      k++;
      continue;
    }
    if (v.startsWith('--')) continue;
    if (title === undefined) title = v;
  }
  return { title: title ?? '', ...(id !== undefined ? { id } : {}) };
}

const KERNEL_COMMANDS = new Set(['linux', 'linuxefi', 'linux16']);
const INITRD_COMMANDS = new Set(['initrd', 'initrdefi', 'initrd16']);

/** Parses grub.cfg text into its menu structure; unbalanced braces are tolerated. */
export function parseGrubScript(text: string): GrubScript {
  const tokens = tokenize(text);
  let pos = 0;

  /** Reads one command's words; stops before sep/open/close. */
  function readCommand(): GrubCommand | undefined {
    const words: GrubWord[] = [];
    let line = 0;
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t.kind !== 'word') break;
      if (!words.length) line = t.line;
      words.push(t.word);
      pos++;
    }
    if (!words.length) return undefined;
    return { words, start: words[0]!.start, end: words[words.length - 1]!.end, line };
  }

  /** Parses a block body until the matching close (or end of input). */
  function parseBlock(inEntry: boolean): { menu: GrubMenuNode[]; commands: GrubCommand[]; closeAt: number; endAt: number } {
    const menu: GrubMenuNode[] = [];
    const commands: GrubCommand[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos]!;
      if (t.kind === 'sep') {
        pos++;
        continue;
      }
      if (t.kind === 'close') {
        pos++;
        return { menu, commands, closeAt: t.start, endAt: t.end };
      }
      if (t.kind === 'open') {
        // An anonymous or function block: its commands still belong to us.
        pos++;
        const inner = parseBlock(inEntry);
        menu.push(...inner.menu);
        commands.push(...inner.commands);
        continue;
      }
      const cmd = readCommand()!;
      const name = cmd.words[0]!.value;
      const next = tokens[pos];
      if ((name === 'menuentry' || name === 'submenu') && next?.kind === 'open') {
        pos++;
        const body = parseBlock(true);
        const { title, id } = titleAndId(cmd.words);
        menu.push({
          kind: name,
          title,
          ...(id !== undefined ? { id } : {}),
          header: cmd,
          bodyStart: next.end,
          bodyEnd: body.closeAt,
          end: body.endAt,
          kernels: body.commands.filter((c) => KERNEL_COMMANDS.has(c.words[0]!.value)),
          initrds: body.commands.filter((c) => INITRD_COMMANDS.has(c.words[0]!.value)),
          children: body.menu,
        });
        continue;
      }
      commands.push(cmd);
    }
    return { menu, commands, closeAt: text.length, endAt: text.length };
  }

  const root = parseBlock(false);
  return { text, menu: root.menu, topLevel: root.commands };
}

/** Every menuentry (not submenu), depth first, with the titles of the submenus it sits in. */
export function allEntries(menu: GrubMenuNode[], parents: string[] = []): { entry: GrubMenuNode; path: string[] }[] {
  const out: { entry: GrubMenuNode; path: string[] }[] = [];
  for (const node of menu) {
    if (node.kind === 'menuentry') out.push({ entry: node, path: parents });
    else out.push(...allEntries(node.children, [...parents, node.title]));
  }
  return out;
}

/** Characters that end or change a word in GRUB's lexer and so need a backslash in an argument. */
const GRUB_SPECIAL = /[\\;&|<>$"'{}# \t]/g;

/** One argument for a GRUB command line, escaped so that GRUB passes it through unchanged (`;` → `\;`). */
export function grubEscapeArg(arg: string): string {
  if (/[\n\r]/.test(arg)) throw new Error(`a GRUB argument cannot contain a line break: ${JSON.stringify(arg)}`);
  return arg.replace(GRUB_SPECIAL, (c) => `\\${c}`);
}

/** A single-quoted GRUB word (`'` becomes `'\''`); line breaks become spaces. */
export function grubQuote(text: string): string {
  return `'${text.replace(/[\r\n]+/g, ' ').replaceAll("'", `'\\''`)}'`;
}

/** The `set NAME=VALUE` commands among `commands`, with the value as GRUB sees it. */
export function setCommands(commands: GrubCommand[], name: string): { command: GrubCommand; value: string }[] {
  const out: { command: GrubCommand; value: string }[] = [];
  for (const c of commands) {
    if (c.words[0]?.value !== 'set' || c.words.length !== 2) continue;
    const assignment = c.words[1]!.value;
    if (assignment.startsWith(`${name}=`)) out.push({ command: c, value: assignment.slice(name.length + 1) });
  }
  return out;
}
