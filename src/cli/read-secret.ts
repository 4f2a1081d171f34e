/** Reads a password: from a pipe as it is, or from the terminal without echo, twice. */
import { UserError } from '../diagnostics/errors.js';

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function promptHidden(question: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolvePromise(value);
    };
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UserError('cancelled'));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = await readAllStdin();
    const line = text.replace(/\r?\n$/, '');
    if (line.includes('\n')) throw new UserError('standard input holds more than one line', 'pipe exactly one password line');
    if (!line) throw new UserError('the password is empty');
    return line;
  }
  const first = await promptHidden('Password: ');
  if (!first) throw new UserError('the password is empty');
  const second = await promptHidden('Again: ');
  if (first !== second) throw new UserError('the passwords do not match');
  return first;
}

