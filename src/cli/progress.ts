/**
 * Progress on a terminal: a bar on stderr when stderr is a TTY and the output is not --json.
 * Everywhere else it is silent.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number, detail?: string): void;
  stop(): void;
}

const silent: Progress = { update: () => undefined, stop: () => undefined };

export function createProgress(label: string, enabled: boolean): Progress {
  if (!enabled || process.stderr.isTTY !== true) return silent;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {value}/{total} | ETA {eta_formatted} | {detail}`,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, detail = '') {
      if (!started) {
        bar.start(total, done, { detail });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { detail: detail.length > 40 ? `…${detail.slice(-39)}` : detail });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
