import type { Diagnostic } from './diagnostic.js';

/**
 * A user mistake or a problem of the user's machine: bad input file, no space,
 * read-only folder. Exit status 1, no stack trace. `debug` (e.g. the exact tool
 * command and its last output lines) is shown only under --debug / FELLOWOS_DEBUG=1.
 */
export class UserError extends Error {
  constructor(message: string, readonly hint?: string, readonly debug?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** The command line itself is wrong: unknown command or option, missing argument. Exit status 2. */
export class UsageError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A config (or other input file) that did not validate; the diagnostics say where. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly diagnostics: Diagnostic[]) {
    super(`${file}: ${diagnostics.length} problem(s)`);
    this.name = 'ConfigError';
  }
}

/** An external tool failed: the exact command is part of the message. Exit status 3. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | undefined,
  ) {
    super(message);
    this.name = 'ToolError';
  }
}

/** A base or built image is not what it must be (inspect/verify findings). Exit status 1. */
export class MediaError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'MediaError';
  }
}

/** The user interrupted (Ctrl-C). Exit status 130. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted');
    this.name = 'InterruptedError';
  }
}

/**
 * A failure whose details the command has already printed (e.g. verify's report,
 * as text or as the --json document): the error boundary adds only this one line
 * on stderr and the exit status.
 */
export class ReportedFailure extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
    this.name = 'ReportedFailure';
  }
}
