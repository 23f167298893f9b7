// One logger. Structured JSON lines on stderr. Keys that can carry secrets are redacted before
// anything is written, whatever the caller passes (the rule: secrets never reach logs).
import { config } from './env.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, 'silent'>;
const SECRET_KEY = /pass(word)?|secret|token|authorization|private|cookie|credential|hash/i;

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : redact(v, depth + 1)]),
  );
}

function write(level: Level, msg: string, fields?: Record<string, unknown>) {
  const threshold = LEVELS[(process.env.LOG_LEVEL as keyof typeof LEVELS) ?? config().LOG_LEVEL] ?? 20;
  if (LEVELS[level] < threshold) return;
  const line = { time: new Date().toISOString(), level, msg, ...(redact(fields ?? {}) as object) };
  process.stderr.write(JSON.stringify(line) + '\n');
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
};
