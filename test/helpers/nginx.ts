/**
 * A real nginx (Debian's nginx-light) for a test: a temp config that listens on
 * 127.0.0.1 at a free high port, keeps its pid, logs and temp files in a temp dir,
 * runs in the foreground (`daemon off`) as this process's child, and is stopped by
 * its pid. Nothing is installed, nothing listens beyond loopback, nothing is left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';

export interface Nginx {
  port: number;
  /** The access log so far. */
  accessLog: () => string;
  errorLog: () => string;
  stop: () => Promise<void>;
}

/** The nginx binary, or undefined when it is not installed (apt-get install nginx-light). */
export function nginxBinary(): string | undefined {
  for (const b of ['nginx', '/usr/sbin/nginx']) {
    const r = spawnSync(b, ['-v'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return b;
  }
  return undefined;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** The temp config: `serverBody` goes inside the one server { } block. Pure. */
export function nginxConfig(dir: string, port: number, serverBody: string, opts: { asUser?: string; idleSeconds?: number } = {}): string {
  const idle = opts.idleSeconds ?? 60;
  return [
    '# nginx for one test run (test/helpers/nginx.ts)',
    ...(opts.asUser ? [`user ${opts.asUser};`] : []),
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events { worker_connections 64; }',
    'http {',
    `  access_log ${dir}/access.log;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp/${t};`),
    '  default_type application/octet-stream;',
    // A connection may be opened long before its request (QEMU's guestfwd connects at start).
    `  client_header_timeout ${idle}s;`,
    // QEMU's guestfwd is one connection for all of a guest's requests (GRUB's kernel and
    // initrd, then the image): keep it open between them.
    `  keepalive_timeout ${idle}s;`,
    '  server {',
    `    listen 127.0.0.1:${port};`,
    ...serverBody.trimEnd().split('\n').map((l) => `    ${l}`),
    '  }',
    '}',
    '',
  ].join('\n');
}

function probe(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: 'HEAD', path: '/', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Start nginx in dir (created) with serverBody; resolves once it answers on the port. */
export async function startNginx(dir: string, serverBody: string, opts: { idleSeconds?: number } = {}): Promise<Nginx> {
  const bin = nginxBinary();
  if (!bin) throw new Error('nginx not installed (apt-get install nginx-light)');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  // As root the master would hand requests to workers running as nobody, who cannot
  // read a test's 0700 temp dirs: keep the workers as this user.
  const asUser = process.getuid?.() === 0 ? userInfo().username : undefined;
  writeFileSync(conf, nginxConfig(dir, port, serverBody, { ...opts, ...(asUser ? { asUser } : {}) }));
  const child: ChildProcess = spawn(bin, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM'); // fast shutdown: the master stops its worker, removes the pid file, exits
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (await probe(port)) return { port, accessLog: () => read('access.log'), errorLog: () => read('error.log'), stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`nginx did not start on 127.0.0.1:${port}: ${output}${read('error.log')}`);
}
