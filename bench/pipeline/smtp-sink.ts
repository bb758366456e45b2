// The SMTP server of the events and end-to-end figures: accepts every message (no TLS, no
// auth, as a local relay would) and counts them, so the mailer really speaks SMTP over a pooled
// connection instead of writing .eml files. `node smtp-sink.js`; reports over IPC:
// {type: 'listening', port} once, {type: 'count'} → {type: 'count', count}.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export type SmtpSinkReply = { type: 'listening'; port: number } | { type: 'count'; count: number };

let count = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  // The mailer pools up to 5 connections of 100 messages each.
  maxClients: 50,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      count += 1;
      callback(null, `2.0.0 Ok: queued as BENCH${count}`);
    });
  },
});
server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: (server.server.address() as AddressInfo).port }));

function send(message: SmtpSinkReply): void {
  process.send?.(message);
}
process.on('message', (message: { type: 'count' }) => {
  if (message.type === 'count') send({ type: 'count', count });
});
process.on('disconnect', () => server.close(() => process.exit(0)));
