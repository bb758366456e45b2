// `npm run bench` holds system processes, databases and Redis keys while it runs: however it
// stops, it cleans up (bench/lib/shutdown.ts), and a log it can no longer write does not stop it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';

const RUN = new URL('./fixtures/bench-run.ts', import.meta.url).pathname;
/** The fixtures' system processes: killed after each test, should one outlive a failing run. */
const children: number[] = [];

afterEach(() => {
  for (const pid of children.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

/** Runs the fixture; `onChild` is called with the system process's pid once it is up. */
async function benchRun(mode: string, onChild?: (pid: number, run: ReturnType<typeof spawn>) => void) {
  const run = spawn(process.execPath, ['--import', 'tsx', RUN, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let child: number | undefined;
  run.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const pid = /^child (\d+)$/m.exec(stdout)?.[1];
    if (pid && child === undefined) {
      child = Number(pid);
      children.push(child);
      onChild?.(child, run);
    }
  });
  run.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(run, 'exit')) as [number | null];
  return { code, stdout, stderr, child };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a bench run that does not end normally', () => {
  it.each([
    ['throw', 'a phase crashed'],
    ['reject', 'a phase rejected'],
  ])('crashed (%s): stops its processes, cleans up and exits 1', async (mode, error) => {
    const { code, stdout, stderr, child } = await benchRun(mode);
    expect(code).toBe(1);
    expect(stderr).toContain(`bench crashed: Error: ${error}`);
    expect(stdout).toContain('cleaned up');
    expect(child).toBeDefined();
    expect(alive(child!)).toBe(false);
  });

  it('crashed in a phase inside its try/finally: cleans up once, writes no report and exits 1', async () => {
    const { code, stdout, stderr, child } = await benchRun('phase-reject');
    expect(code).toBe(1);
    expect(stderr).toContain('bench crashed: Error: a phase rejected');
    expect(stdout.match(/cleaned up/g)).toHaveLength(1);
    expect(stdout).toContain('crash: exiting once the clean-up has finished');
    expect(stdout).not.toContain('report written');
    expect(alive(child!)).toBe(false);
  });

  it('interrupted (SIGTERM): stops its processes, cleans up and exits 130', async () => {
    const { code, stdout, child } = await benchRun('signal', (_pid, run) => setTimeout(() => run.kill('SIGTERM'), 300));
    expect(code).toBe(130);
    expect(stdout).toContain('SIGTERM: stopping processes');
    expect(stdout).toContain('cleaned up');
    expect(alive(child!)).toBe(false);
  });

  it('whose log directory is removed under it goes on: the process runs to its end and its output is dropped', async () => {
    const { code, stdout, stderr } = await benchRun('log-gone');
    expect(stderr).toMatch(/chatty: its log .* cannot be written \(ENOENT/);
    expect(stdout).toContain('chatty exited 0');
    expect(stdout).not.toContain('cleaned up');
    expect(code).toBe(0);
  });
});
