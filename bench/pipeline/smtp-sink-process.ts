import { benchEntry } from '../lib/paths.js';
import { startNode, type NodeProcess } from '../lib/processes.js';
import type { SmtpSinkReply } from './smtp-sink.js';

/** The SMTP server child (smtp-sink.ts): its port, and how many messages it accepted. */
export class SmtpSink {
  private constructor(
    readonly process: NodeProcess,
    readonly port: number,
  ) {}

  /** Starts the child (logging to `logDir`), hands it to `track` to be stopped, and waits for its port. */
  static async start(logDir: string, track: (process: NodeProcess) => void): Promise<SmtpSink> {
    const proc = startNode('smtp-sink', benchEntry('pipeline/smtp-sink.js'), { env: {}, logDir, ipc: true });
    track(proc);
    const port = await new Promise<number>((resolve) => {
      proc.child.once('message', (message: SmtpSinkReply) => resolve(message.type === 'listening' ? message.port : Number.NaN));
    });
    return new SmtpSink(proc, port);
  }

  count(): Promise<number> {
    return new Promise((resolve) => {
      const onMessage = (message: SmtpSinkReply) => {
        if (message.type !== 'count') return;
        this.process.child.off('message', onMessage);
        resolve(message.count);
      };
      this.process.child.on('message', onMessage);
      this.process.child.send({ type: 'count' });
    });
  }
}
