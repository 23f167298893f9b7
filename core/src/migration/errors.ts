// The failures of a migration, each with a code, a message a person understands, and whether trying
// again can help. classifyError() turns whatever the network, TLS, imapflow or the target threw into
// one of them. Pure (no I/O).
//
// Invariants:
// - Permanent failures (wrong password, TLS refused, unknown host, target over quota) end a migration
//   at once; transient ones (connection lost, timeouts, a server's temporary failure) are retried
//   with backoff by the job queue.
// - Messages never carry secrets: they are written here from templates; server text that is quoted
//   is cut short and has every known secret (the source password) removed.
import { AppError } from '../errors.js';

export const MIGRATION_ERROR_CODES = [
  'AUTH_FAILED',
  'TLS_FAILED',
  'HOST_UNREACHABLE',
  'CONNECTION_LOST',
  'TIMEOUT',
  'TARGET_OVER_QUOTA',
  'SOURCE_ERROR',
  'TARGET_ERROR',
  'INTERNAL',
  'CONNECT_TIMEOUT',
  'GREETING_TIMEOUT',
  'VERIFY_FAILED',
] as const;
export type MigrationErrorCode = (typeof MIGRATION_ERROR_CODES)[number];

export class MigrationError extends AppError {
  override name = 'MigrationError';
  constructor(
    readonly code: MigrationErrorCode,
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export class SourceAuthenticationError extends MigrationError {
  override name = 'SourceAuthenticationError';
  constructor(message = 'The source server rejected the username or password.') {
    super('AUTH_FAILED', message, true);
  }
}

export class SourceTlsError extends MigrationError {
  override name = 'SourceTlsError';
  constructor(message: string) {
    super('TLS_FAILED', message, true);
  }
}

export class SourceUnreachableError extends MigrationError {
  override name = 'SourceUnreachableError';
  constructor(message: string, permanent = false) {
    super('HOST_UNREACHABLE', message, permanent);
  }
}

/** No connection in time (CONNECT_TIMEOUT), or a connection but no greeting / TLS handshake (GREETING_TIMEOUT). */
export class SourceTimeoutError extends MigrationError {
  override name = 'SourceTimeoutError';
  constructor(code: 'CONNECT_TIMEOUT' | 'GREETING_TIMEOUT' | 'TIMEOUT', message: string) {
    super(code, message, false);
  }
}

export class TargetOverQuotaError extends MigrationError {
  override name = 'TargetOverQuotaError';
  constructor(message = 'The target mailbox is over its quota: raise the quota or make room, then retry the migration.') {
    super('TARGET_OVER_QUOTA', message, true);
  }
}

/** Any other failure of the source server or the connection to it. */
export class SourceServerError extends MigrationError {
  override name = 'SourceServerError';
}

/** The panel's own side (Dovecot, the Maildir) failed. */
export class TargetError extends Error {
  override name = 'TargetError';
  constructor(
    message: string,
    readonly responseCode: string | null = null,
  ) {
    super(message);
  }
}

/** Cancelled by a person, the worker stopping, or the lease moving to another worker. */
export class MigrationInterrupted extends Error {
  override name = 'MigrationInterrupted';
  constructor(readonly reason: 'cancelled' | 'stopping' | 'lease-lost') {
    super(`migration interrupted: ${reason}`);
  }
}

export interface ErrorContext {
  host?: string;
  port?: number;
  security?: 'SSL' | 'STARTTLS' | 'NONE';
  /** Strings that must never appear in a message (the source password). */
  secrets?: string[];
}

const TLS_CODES = /^(ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(VERIFY|GET)_|HOSTNAME_MISMATCH|ERR_OSSL_|ClosedAfterConnectTLS|UPGRADE_TIMEOUT)/;
const CERT_CODES = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(VERIFY|GET)_|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;

/** Server text fit to show: one line, short, with secrets removed. */
export function scrub(text: string | undefined | null, secrets: string[] = []): string {
  let t = String(text ?? '')
    .replace(/[\r\n]+/g, ' ')
    .trim();
  for (const s of secrets) if (s && s.length >= 3) t = t.split(s).join('***');
  t = t.replace(/\[vm:[^\]]*\]/g, '').replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 197)}...` : t;
}

interface ErrLike {
  code?: string;
  message?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  serverResponseCode?: string;
  responseText?: string;
  responseStatus?: string;
  reason?: string;
}

const OVER_QUOTA = /\b(quota exceeded|over quota|not enough disk quota|mailbox is full)\b|\[OVERQUOTA\]/i;

/** The tenant reads this message: server paths (sockets, Maildirs) are the operator's business and stay in the log. */
function withoutPaths(text: string): string {
  return text.replace(/(?:\/[\w.@+=-]+){2,}\/?/g, '…');
}

export function classifyError(err: unknown, ctx: ErrorContext = {}): MigrationError {
  if (err instanceof MigrationError) return err;
  const e = (err ?? {}) as ErrLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const where = ctx.host ? `${ctx.host}${ctx.port ? `:${ctx.port}` : ''}` : 'the source server';
  const server = scrub(e.responseText, ctx.secrets);
  const responseCode = (e.serverResponseCode ?? '').toUpperCase();

  if (err instanceof TargetError) {
    // Dovecot's own over-quota wordings only: an address or folder named "quota…" is not a full mailbox.
    if (responseCode === 'OVERQUOTA' || OVER_QUOTA.test(err.message)) return new TargetOverQuotaError();
    return new MigrationError('TARGET_ERROR', `Writing into the target mailbox failed: ${withoutPaths(scrub(err.message, ctx.secrets))}`, false);
  }

  if (e.authenticationFailed) {
    if (responseCode === 'UNAVAILABLE' || responseCode === 'SERVERBUG')
      return new SourceServerError('SOURCE_ERROR', `The source server could not check the password right now${server ? ` ("${server}")` : ''}; trying again later.`, false);
    return new SourceAuthenticationError(
      `The source server rejected the username or password${server && !/^(authentication failed\.?|invalid credentials)?$/i.test(server) ? ` ("${server}")` : ''}.`,
    );
  }

  // Timeouts first: imapflow's greeting timeout message mentions TLS ("Maybe should use TLS?"), and a
  // server that never greets is not a TLS failure.
  if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT')
    return new SourceTimeoutError('CONNECT_TIMEOUT', `${where} did not accept a connection in time. Check the host and port, and that a firewall allows the connection.`);
  if (code === 'GREETING_TIMEOUT')
    return new SourceTimeoutError(
      'GREETING_TIMEOUT',
      `${where} accepted the connection but never greeted${ctx.security === 'SSL' ? ' (no TLS handshake either)' : ctx.security === 'NONE' || ctx.security === 'STARTTLS' ? ': it may expect SSL on this port' : ''}.`,
    );
  if (code === 'ETIMEOUT') return new SourceTimeoutError('TIMEOUT', `${where} stopped answering.`);

  if (e.tlsFailed || TLS_CODES.test(code) || /wrong version number|ssl routines|tls|certificate|handshake/i.test(message)) {
    if (CERT_CODES.test(code) || /certificate/i.test(message))
      return new SourceTlsError(`The certificate of ${where} is not trusted (${code || scrub(message)}). Check the host name, or ask the provider for a valid certificate.`);
    if (e.tlsFailed || /STARTTLS/i.test(message))
      return new SourceTlsError(`${where} does not offer STARTTLS. Choose SSL (usually port 993) or, only on a trusted network, no encryption.`);
    return new SourceTlsError(
      `No TLS connection could be made with ${where}${ctx.security === 'SSL' ? ': it does not seem to speak SSL on this port. Port 993 usually expects SSL, port 143 STARTTLS' : ''}.`,
    );
  }

  switch (code) {
    case 'ENOTFOUND':
      return new SourceUnreachableError(`The host name ${ctx.host ?? ''} could not be found. Check its spelling.`.replace('  ', ' '), true);
    case 'EAI_AGAIN':
      return new SourceUnreachableError(`The host name ${ctx.host ?? ''} could not be looked up right now (DNS).`.replace('  ', ' '));
    case 'ECONNREFUSED':
      return new SourceUnreachableError(`${where} refused the connection: no IMAP server listens on this port.`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return new SourceUnreachableError(`${where} cannot be reached from the mail server's network.`);
    case 'ECONNRESET':
    case 'EPIPE':
    case 'NoConnection':
    case 'EConnectionClosed':
    case 'ClosedAfterConnectText':
      return new SourceServerError('CONNECTION_LOST', `The connection to ${where} was lost.`, false);
  }
  if (code.startsWith('Parser') || code === 'InvalidResponse' || code === 'UnexpectedTag' || code === 'MissingTag')
    return new SourceServerError('SOURCE_ERROR', `${where} sent a response the copier could not understand.`, false);
  if (e.responseStatus === 'NO' || e.responseStatus === 'BAD')
    return new SourceServerError('SOURCE_ERROR', `${where} refused a request${server ? `: "${server}"` : ''}.`, false);
  return new MigrationError('INTERNAL', 'The migration stopped on an unexpected error; it is retried automatically.', false);
}
