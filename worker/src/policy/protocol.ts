// The Postfix policy delegation protocol (SMTPD_POLICY_README): the client sends `name=value` lines
// ending with an empty line; the server answers `action=<action>` and an empty line, on the same
// connection, which Postfix keeps open for more requests. Pure: no I/O.
//
// Invariants:
// - Requests are parsed from a stream that may split or join them anywhere (TCP); a request is
//   complete only at its empty line. CRLF is accepted as well as LF.
// - Bounded: a line longer than MAX_LINE or a request with more than MAX_ATTRIBUTES attributes is a
//   protocol error (the connection is closed) — a stuck or hostile client cannot grow memory.
// - The value is everything after the FIRST `=` (values may contain `=`); an attribute repeated
//   keeps its first value; a line without `=` is a protocol error.
// - Responses never contain a newline: an action is one line by construction.

export const MAX_LINE = 4096;
export const MAX_ATTRIBUTES = 128;

export type PolicyRequest = ReadonlyMap<string, string>;

export class PolicyProtocolError extends Error {
  override name = 'PolicyProtocolError';
}

export class PolicyRequestParser {
  private buf = '';
  private attrs = new Map<string, string>();
  private count = 0;

  /** Feeds received text; returns the requests it completed, in order. */
  push(chunk: string): PolicyRequest[] {
    this.buf += chunk;
    const out: PolicyRequest[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buf.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buf.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length > MAX_LINE) throw new PolicyProtocolError('line too long');
      if (line === '') {
        if (this.count > 0) out.push(this.attrs);
        this.attrs = new Map();
        this.count = 0;
        continue;
      }
      const eq = line.indexOf('=');
      if (eq <= 0) throw new PolicyProtocolError('attribute line without name=value');
      if (++this.count > MAX_ATTRIBUTES) throw new PolicyProtocolError('too many attributes');
      const name = line.slice(0, eq);
      if (!this.attrs.has(name)) this.attrs.set(name, line.slice(eq + 1));
    }
    this.buf = this.buf.slice(start);
    if (this.buf.length > MAX_LINE) throw new PolicyProtocolError('line too long');
    return out;
  }
}

/** `action=<action>\n\n`; the action must be one line of printable text. */
export function formatResponse(action: string): string {
  if (action === '' || /[\u0000-\u001f\u007f]/.test(action)) throw new PolicyProtocolError('action must be one line of text');
  return `action=${action}\n\n`;
}

/** What the panel needs from a request. */
export interface PolicyQuery {
  /** protocol_state (RCPT, END-OF-MESSAGE …), upper-case. */
  state: string;
  /** The SASL login (lower-case), or '' for an unauthenticated client. */
  saslUsername: string;
  sender: string;
  /** Recipients of the message (recipient_count; 0 before END-OF-MESSAGE). */
  recipientCount: number;
  queueId: string;
}

export function policyQuery(req: PolicyRequest): PolicyQuery {
  const n = Number(req.get('recipient_count') ?? '0');
  return {
    state: (req.get('protocol_state') ?? '').toUpperCase(),
    saslUsername: (req.get('sasl_username') ?? '').trim().toLowerCase(),
    sender: (req.get('sender') ?? '').toLowerCase(),
    recipientCount: Number.isInteger(n) && n >= 0 ? Math.min(n, 100_000) : 0,
    queueId: req.get('queue_id') ?? '',
  };
}
