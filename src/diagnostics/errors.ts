import type { Diagnostic } from './diagnostic.js';

/** A user mistake: bad flags, bad input file. Exit status 1, no stack trace. */
export class UserError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A config (or other input file) that did not validate; the diagnostics say where. */
export class ConfigError extends Error {
  constructor(readonly file: string, readonly diagnostics: Diagnostic[]) {
    super(`${file}: ${diagnostics.length} problem(s)`);
    this.name = 'ConfigError';
  }
}

/** An external tool failed: the exact command is part of the message. Exit status 2. */
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
