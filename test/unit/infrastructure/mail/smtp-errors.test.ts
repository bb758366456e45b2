import { describe, expect, it } from 'vitest';
import { classifySendError, describeSendError } from '../../../../src/infrastructure/mail/smtp-errors.js';

const smtpError = (code: string, responseCode: number | undefined, response?: string) =>
  Object.assign(new Error(`failed: ${response ?? code}`), { code, responseCode, response });

describe('classifySendError', () => {
  it.each([
    ['mailbox unavailable', 'permanent', smtpError('EENVELOPE', 550, '550 5.1.1 <x@example.com>: Recipient address rejected')],
    ['message rejected', 'permanent', smtpError('EMESSAGE', 554, '554 5.7.1 Message refused')],
    ['too large', 'permanent', smtpError('EMESSAGE', 552, '552 5.3.4 Message size exceeds fixed limit')],
    ['bad address syntax', 'permanent', smtpError('EENVELOPE', 501, '501 5.1.3 Bad recipient address syntax')],
    ['no recipients (before any reply)', 'permanent', smtpError('EENVELOPE', undefined)],
    ['greylisted', 'temporary', smtpError('EENVELOPE', 451, '451 4.7.1 Greylisted, try again later')],
    ['mailbox busy', 'temporary', smtpError('EMESSAGE', 450, '450 4.2.1 Mailbox busy')],
    ['service not available', 'temporary', smtpError('ECONNECTION', 421, '421 4.3.2 Service shutting down')],
    ['bad sequence (503)', 'temporary', smtpError('EPROTOCOL', 503, '503 5.5.1 Bad sequence of commands')],
    ['connection refused', 'temporary', smtpError('ESOCKET', undefined)],
    ['connection closed', 'temporary', smtpError('ECONNECTION', undefined)],
    ['timeout', 'temporary', smtpError('ETIMEDOUT', undefined)],
    ['DNS', 'temporary', smtpError('EDNS', undefined)],
    // Our credentials or TLS set-up, not this message: an operator fix lets it through.
    ['authentication failed (535)', 'temporary', smtpError('EAUTH', 535, '535 5.7.8 Authentication credentials invalid')],
    ['TLS failure', 'temporary', smtpError('ETLS', undefined)],
    ['an unexpected error', 'temporary', new Error('something else')],
    ['a thrown string', 'temporary', 'weird'],
  ])('%s is %s', (_name, kind, error) => {
    expect(classifySendError(error).kind).toBe(kind);
  });

  it('carries the reply code and the server’s response text', () => {
    expect(classifySendError(smtpError('EENVELOPE', 550, '550 5.1.1 No such user'))).toEqual({
      kind: 'permanent',
      response: '550 5.1.1 No such user',
      responseCode: 550,
    });
  });
});

describe('describeSendError', () => {
  it('prefers the SMTP response, else the code and message', () => {
    expect(describeSendError(smtpError('EENVELOPE', 451, '451 4.7.1 Try later'))).toBe('451 4.7.1 Try later');
    expect(describeSendError(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }))).toBe(
      'ECONNECTION: Connection closed unexpectedly',
    );
    expect(describeSendError(new Error('plain'))).toBe('plain');
  });

  it('keeps the text on one line and bounded', () => {
    expect(describeSendError(smtpError('EMESSAGE', 554, '554-first\r\n554 second'))).toBe('554-first 554 second');
    expect(describeSendError(new Error('x'.repeat(5000))).length).toBeLessThanOrEqual(1000);
  });
});
