import { Transform, type TransformCallback } from 'node:stream';
import type { Transporter } from 'nodemailer';

/** Up to this many bytes of a message are handed to the SMTP connection at once. */
const WHOLE_MESSAGE_LIMIT = 256 * 1024;

/**
 * Gathers a composed message's chunks and passes them on together, at the end or whenever
 * `limit` bytes are gathered, whichever comes first. nodemailer hands every MIME part to the
 * socket as it encodes it — about a dozen writes for a text + HTML email, each of them a system
 * call and a wake-up of the SMTP server — so a message goes out in one write (plus the
 * terminating dot) instead. The limit bounds the memory one message can hold.
 */
export class WholeMessage extends Transform {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit = WHOLE_MESSAGE_LIMIT) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.limit) this.release();
    done();
  }

  override _flush(done: TransformCallback): void {
    this.release();
    done();
  }

  private release(): void {
    if (this.size === 0) return;
    const [first] = this.chunks;
    this.push(this.chunks.length === 1 && first ? first : Buffer.concat(this.chunks, this.size));
    this.chunks = [];
    this.size = 0;
  }
}

/**
 * Has every message of `transport` pass through a WholeMessage on its way out (nodemailer's
 * 'stream' plugin step: the message is compiled, the transport has not read it yet).
 */
export function sendWholeMessages(transport: Transporter): void {
  transport.use('stream', (mail, done) => {
    mail.message.transform(() => new WholeMessage());
    done();
  });
}
