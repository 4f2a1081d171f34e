/** Progress of a stick write and its read-back: a bar with rate and ETA on a terminal, a line per 10% otherwise. */
import type { StickProgress } from '../stick/write-stick.js';

const MiB = 1024 * 1024;

function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** One progress line (pure). */
export function progressLine(p: StickProgress, width = 30): { pct: number; bar: string; plain: string } {
  const frac = p.totalBytes > 0 ? Math.min(1, p.doneBytes / p.totalBytes) : 0;
  const pct = Math.floor(frac * 100);
  const rate = p.elapsedMs > 0 ? p.doneBytes / (p.elapsedMs / 1000) : 0;
  const eta = rate > 0 ? (p.totalBytes - p.doneBytes) / rate : Number.NaN;
  const label = p.phase === 'write' ? 'writing' : 'verifying';
  const sizes = `${Math.round(p.doneBytes / MiB)}/${Math.round(p.totalBytes / MiB)} MiB`;
  const speed = `${(rate / 1e6).toFixed(1)} MB/s`;
  const fill = Math.round(frac * width);
  return {
    pct,
    bar: `${label.padEnd(9)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(pct).padStart(3)}% ${sizes}  ${speed}  ETA ${clock(eta)}`,
    plain: `${label}: ${pct}% (${sizes}, ${speed})`,
  };
}

export function stickProgressPrinter(stream: NodeJS.WriteStream): { update(p: StickProgress): void; end(): void } {
  const tty = stream.isTTY === true;
  const last = { phase: '', decile: -1, drawn: false, at: 0 };
  return {
    update(p) {
      const line = progressLine(p);
      if (p.phase !== last.phase) {
        if (last.drawn) stream.write('\n');
        last.phase = p.phase;
        last.decile = -1;
        last.drawn = false;
      }
      if (tty) {
        const now = Date.now();
        if (now - last.at < 100 && line.pct < 100) return;
        last.at = now;
        stream.write(`\r${line.bar}`);
        last.drawn = true;
      } else if (Math.floor(line.pct / 10) > last.decile) {
        last.decile = Math.floor(line.pct / 10);
        stream.write(`${line.plain}\n`);
      }
    },
    end() {
      if (last.drawn) stream.write('\n');
      last.drawn = false;
    },
  };
}
