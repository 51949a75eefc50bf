// One pino logger for the process. Child loggers carry context (machine, mac, xid, interface)
// so every line about a packet or a machine can be found by that key.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'rackhand',
    level: opts.level ?? process.env.RACKHAND_LOG_LEVEL ?? 'info',
    // Secrets must never reach a log line, even by accident through an object dump.
    redact: { paths: ['password', '*.password', 'token', '*.token', 'headers.authorization'], censor: '[redacted]' },
  });
}

/** A logger that drops everything: for unit tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
