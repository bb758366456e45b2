import { ConfigError, loadConfig, type Config } from '../infrastructure/config.js';
import type { Logger } from '../infrastructure/logger.js';

// The life of a conveyor process, in one place: it loads its configuration, starts its role,
// stops it once on SIGTERM or SIGINT within a bounded time, and exits 1 on anything fatal
// (start-up refused, an error nothing caught). Every entry point calls these explicitly; none
// of it is installed as a side effect of anything else.

/** A condition that stops a process at start-up, with a message for the operator. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** A started process role: its logger, and how to stop it (the role, then what it opened). */
export interface RunningProcess {
  logger: Logger;
  stop(): Promise<void>;
}

/** Loads the configuration, or prints what is wrong with it and exits 1. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) exitFatally(error);
    throw error;
  }
}

/**
 * An error that reaches the top of the process ends it with exit code 1. A StartupError or a
 * ConfigError is an operator's problem, not a crash: its message is printed alone.
 */
export function exitOnFatalError(): void {
  process.on('uncaughtException', exitFatally);
}

function exitFatally(error: unknown): never {
  const forOperator = error instanceof StartupError || error instanceof ConfigError;
  console.error(forOperator ? `conveyor cannot start: ${error.message}` : error);
  process.exit(1);
}

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits. A second signal, or `stop` taking longer
 * than `graceMs`, exits at once: the orchestrator's kill is coming anyway.
 */
export function exitOnSignal(logger: Logger, stop: () => Promise<void>, graceMs = 30_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ graceMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/**
 * The whole life of a long-running process: fatal errors exit 1, the configuration is loaded,
 * `start` builds and starts the role, and a signal stops it.
 */
export async function runProcess(start: (config: Config) => Promise<RunningProcess>): Promise<void> {
  exitOnFatalError();
  const config = loadConfigOrExit();
  let running: RunningProcess;
  try {
    running = await start(config);
  } catch (error) {
    exitFatally(error);
  }
  exitOnSignal(running.logger, () => running.stop());
}
