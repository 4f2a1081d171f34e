/**
 * The one door through which build-iso runs other programs. argv is always an
 * array built by pure functions elsewhere; nothing here goes through a shell.
 */
import { execa, type Options, type ResultPromise } from 'execa';
import { ToolError } from '../diagnostics/errors.js';

export interface RunOptions {
  cwd?: string;
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Called with each line the tool writes to stderr (xorriso reports progress there). */
  onStderrLine?: (line: string) => void;
  /** Return stdout as a Buffer rather than text. */
  binary?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** runChecked: stderr lines left out of a failure's message (e.g. progress reports). */
  omitFromErrors?: RegExp;
  /** runChecked: what the tool was doing, for a failure's message. */
  doing?: string;
}

export interface RunResult {
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
  exitCode: number;
}

/** Shell-like rendering of argv, for error messages and logs only (never executed). */
export function displayCommand(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('run: empty argv');
  const command = displayCommand(argv);
  let child: ResultPromise;
  try {
    child = execa(file, args, {
      cwd: opts.cwd,
      input: opts.input,
      env: opts.env,
      extendEnv: true,
      reject: false,
      encoding: opts.binary ? 'buffer' : 'utf8',
      stripFinalNewline: false,
      timeout: opts.timeoutMs,
      cancelSignal: opts.signal,
      stdin: opts.input === undefined ? 'ignore' : 'pipe',
    });
  } catch (e) {
    throw new ToolError(`could not start ${file}: ${(e as Error).message}`, command, '', undefined);
  }
  if (opts.onStderrLine && child.stderr) {
    let pending = '';
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split(/\r?\n|\r/);
      pending = lines.pop() ?? '';
      for (const line of lines) opts.onStderrLine?.(line);
    });
  }
  const r = await child;
  if (r.failed && r.exitCode === undefined) {
    const why = r.isCanceled ? 'was cancelled' : r.timedOut ? 'timed out' : `could not run (${r.code ?? r.shortMessage})`;
    throw new ToolError(`${file} ${why}`, command, String(r.stderr ?? ''), undefined);
  }
  const stdoutBytes = Buffer.isBuffer(r.stdout) ? r.stdout : Buffer.from(String(r.stdout ?? ''), 'utf8');
  const stderr = Buffer.isBuffer(r.stderr) ? r.stderr.toString('utf8') : String(r.stderr ?? '');
  return { stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr, exitCode: r.exitCode ?? 0 };
}

/** Run and require exit status 0; a failure names the exact command. */
export async function runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, opts);
  if (r.exitCode !== 0) {
    const lines = r.stderr.trim().split('\n');
    const tail = lines.filter((l) => !opts.omitFromErrors?.test(l)).slice(-5).join('\n');
    throw new ToolError(`${argv[0]} exited with status ${r.exitCode}${opts.doing ? ` while ${opts.doing}` : ''}`, displayCommand(argv), tail, r.exitCode);
  }
  return r;
}

/** True when a program is on PATH. */
export async function haveTool(name: string): Promise<boolean> {
  const r = await run(['sh', '-c', 'command -v "$1"', 'sh', name]).catch(() => undefined);
  return r?.exitCode === 0;
}

export interface PipedOptions {
  /** 'pipe' gives `child.stdin`; a number hands the child that open file descriptor. */
  stdin?: 'pipe' | 'ignore' | number;
  stdout?: 'pipe' | 'ignore' | number;
  /** Give the child a pipe as file descriptor 3 (read it from `fd3`), e.g. for xorriso `-outdev stdio:/dev/fd/3`. */
  fd3?: boolean;
  signal?: AbortSignal;
  onStderrLine?: (line: string) => void;
}

export interface PipedTool {
  stdin: NodeJS.WritableStream | undefined;
  stdout: NodeJS.ReadableStream | undefined;
  fd3: NodeJS.ReadableStream | undefined;
  /** Settles when the tool has exited: its status and stderr (never rejects for a non-zero status). */
  done: Promise<{ exitCode: number | undefined; signal: string | undefined; stderr: string; command: string }>;
  kill(): void;
}

/**
 * Start a tool whose data flows through streams or file descriptors we hand it
 * (dd writing to a device we opened, xorriso writing an image into a pipe).
 * Nothing is buffered in memory but the last stderr lines.
 */
export function runPiped(argv: readonly string[], opts: PipedOptions = {}): PipedTool {
  const [file, ...args] = argv;
  if (!file) throw new Error('runPiped: empty argv');
  const command = displayCommand(argv);
  const options = {
    reject: false,
    buffer: false,
    extendEnv: true,
    cancelSignal: opts.signal,
    stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'ignore', 'pipe', ...(opts.fd3 ? ['pipe'] : [])],
  } as Options;
  const child = execa(file, args, options);
  let stderr = '';
  let pending = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-16384);
    if (!opts.onStderrLine) return;
    pending += text;
    const lines = pending.split(/\r?\n|\r/);
    pending = lines.pop() ?? '';
    for (const line of lines) opts.onStderrLine(line);
  });
  const done = child.then(
    (r) => ({ exitCode: r.exitCode, signal: r.signal, stderr, command }),
    (e: { exitCode?: number; signal?: string }) => ({ exitCode: e.exitCode, signal: e.signal, stderr, command }),
  );
  return {
    stdin: child.stdin ?? undefined,
    stdout: child.stdout ?? undefined,
    fd3: (child.stdio[3] as NodeJS.ReadableStream | undefined) ?? undefined,
    done,
    kill: () => {
      child.kill('SIGTERM');
    },
  };
}
