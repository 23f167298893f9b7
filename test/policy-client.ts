// A Postfix-like client of the policy delegation protocol for tests and the benchmark: one TCP
// connection, requests sent one at a time (as Postfix does), answers read back in order.
import net from 'node:net';

export class PolicyClient {
  private buf = '';
  private waiting: { resolve: (answer: string) => void; reject: (e: Error) => void }[] = [];
  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.on('close', () => {
      for (const w of this.waiting.splice(0)) w.reject(new Error('connection closed'));
    });
    sock.on('data', (d: string) => {
      this.buf += d;
      let i: number;
      while ((i = this.buf.indexOf('\n\n')) >= 0) {
        const block = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        this.waiting.shift()?.resolve(block.replace(/^action=/, ''));
      }
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<PolicyClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new PolicyClient(s)));
      s.once('error', reject);
    });
  }

  /** Sends one request (attributes, or a request already rendered by renderRequest()) and resolves with the action. */
  ask(request: Record<string, string | number> | string): Promise<string> {
    return new Promise((resolve, reject) => {
      if (this.sock.destroyed) return reject(new Error('connection closed'));
      this.waiting.push({ resolve, reject });
      this.sock.write(typeof request === 'string' ? request : renderRequest(request));
    });
  }

  /** Writes raw bytes (protocol tests). */
  writeRaw(text: string): void {
    this.sock.write(text);
  }

  closed(): Promise<void> {
    return new Promise((resolve) => (this.sock.destroyed ? resolve() : this.sock.once('close', () => resolve())));
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Attributes → `name=value` lines and the empty line that ends a request. */
export function renderRequest(attrs: Record<string, string | number>): string {
  return `${Object.entries(attrs).map(([k, v]) => `${k}=${v}`).join('\n')}\n\n`;
}

/** An end-of-message request as Postfix sends it from smtpd_end_of_data_restrictions. */
export function endOfMessage(saslUsername: string, recipients = 1, extra: Record<string, string> = {}): Record<string, string | number> {
  return {
    request: 'smtpd_access_policy',
    protocol_state: 'END-OF-MESSAGE',
    protocol_name: 'ESMTP',
    client_address: '127.0.0.1',
    client_name: 'localhost',
    helo_name: 'client.example.net',
    sender: saslUsername,
    recipient: '',
    recipient_count: recipients,
    queue_id: Math.random().toString(16).slice(2, 12).toUpperCase(),
    instance: Math.random().toString(16).slice(2, 10),
    size: 1234,
    sasl_method: 'PLAIN',
    sasl_username: saslUsername,
    ...extra,
  };
}
