import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { WholeMessage } from '../../../../src/infrastructure/mail/whole-message.js';

/** The chunks that come out of a WholeMessage fed `input` chunk by chunk. */
async function through(input: string[], limit?: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  // Each write of the sink is a write the SMTP connection would make.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(input.map((chunk) => Buffer.from(chunk))), new WholeMessage(limit), sink);
  return out;
}

describe('WholeMessage', () => {
  it('passes a message on as one chunk, byte for byte', async () => {
    const parts = ['Content-Type: multipart/alternative\r\n\r\n', '--b\r\n', 'Hello\r\n', '--b\r\n', '<p>Hello</p>\r\n', '--b--\r\n'];
    const out = await through(parts);
    expect(out).toHaveLength(1);
    expect(out[0]?.toString()).toBe(parts.join(''));
  });

  it('passes on what it has gathered whenever the limit is reached, and the rest at the end', async () => {
    const out = await through(['aaaa', 'bbbb', 'cccc', 'dd', 'e'], 6);
    expect(out.map(String)).toEqual(['aaaabbbb', 'ccccdd', 'e']);
  });

  it('passes nothing on for an empty message', async () => {
    expect(await through([])).toEqual([]);
  });
});
