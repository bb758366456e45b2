import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs; anything that may carry a secret is redacted before it is written. */
export function createLogger(options: { level: string; role: string }): Logger {
  return pino({
    level: options.level,
    base: { role: options.role },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'config.apiKeys',
        'config.admin.password',
        'config.smtpUrl',
        '*.secret',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}
