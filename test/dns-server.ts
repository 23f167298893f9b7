// A tiny authoritative DNS server over UDP on loopback for tests: it answers TXT, MX, CNAME and SRV
// queries from maps that the test changes as it goes (NXDOMAIN for unknown names, NODATA for other
// types), so nothing ever asks the Internet. Enough of RFC 1035 for node:dns and rspamd: one
// question, answers pointing at it (0xC00C), TXT RDATA as length-prefixed strings, host names in
// RDATA uncompressed.
import dgram from 'node:dgram';

export interface TestDnsServer {
  /** "127.0.0.1:<port>", as DNS_SERVER / Resolver.setServers take it. */
  address: string;
  port: number;
  /** name (lower-case, no trailing dot) → TXT records, each a list of character-strings. */
  txt: Map<string, string[][]>;
  /** name → MX, CNAME and SRV records. */
  hosts: Map<string, HostRecord[]>;
  queries: { name: string; type: number }[];
  close(): Promise<void>;
}

export type HostRecord =
  | { type: 'MX'; preference: number; exchange: string }
  | { type: 'CNAME'; target: string }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string };

const TYPE_CODE = { MX: 15, CNAME: 5, SRV: 33 } as const;

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

function hostRdata(r: HostRecord): Buffer {
  switch (r.type) {
    case 'MX':
      return Buffer.concat([u16(r.preference), encodeName(r.exchange)]);
    case 'CNAME':
      return encodeName(r.target);
    case 'SRV':
      return Buffer.concat([u16(r.priority, r.weight, r.port), encodeName(r.target)]);
  }
}

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  for (;;) {
    const len = msg[i];
    if (len === undefined) throw new Error('truncated name');
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: i + 1 };
    if (len >= 0xc0) throw new Error('compressed names in questions are not supported');
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
}

function txtRdata(strings: string[]): Buffer {
  return Buffer.concat(
    strings.map((s) => {
      const b = Buffer.from(s, 'utf8');
      if (b.length > 255) throw new Error('TXT string over 255 bytes');
      return Buffer.concat([Buffer.from([b.length]), b]);
    }),
  );
}

export function answer(query: Buffer, txt: Map<string, string[][]>, hosts: Map<string, HostRecord[]> = new Map()): { reply: Buffer; name: string; type: number } {
  const id = query.readUInt16BE(0);
  const { name, end } = readName(query, 12);
  const type = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const records = txt.get(name);
  const known = records !== undefined || hosts.has(name);
  const answers: { type: number; rdata: Buffer }[] =
    type === 16
      ? (records ?? []).map((strings) => ({ type: 16, rdata: txtRdata(strings) }))
      : (hosts.get(name) ?? []).filter((r) => TYPE_CODE[r.type] === type).map((r) => ({ type, rdata: hostRdata(r) }));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  // QR, opcode 0, AA, RD copied; RA; RCODE 3 (NXDOMAIN) when the name is unknown.
  header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const rrs = answers.map(({ type: rrType, rdata }) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(rrType, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return { reply: Buffer.concat([header, question, ...rrs]), name, type };
}

export async function startTestDnsServer(): Promise<TestDnsServer> {
  const sock = dgram.createSocket('udp4');
  const txt = new Map<string, string[][]>();
  const hosts = new Map<string, HostRecord[]>();
  const queries: { name: string; type: number }[] = [];
  sock.on('message', (msg, rinfo) => {
    try {
      const { reply, name, type } = answer(msg, txt, hosts);
      queries.push({ name, type });
      sock.send(reply, rinfo.port, rinfo.address);
    } catch {
      /* ignore malformed queries */
    }
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const port = sock.address().port;
  return {
    address: `127.0.0.1:${port}`,
    port,
    txt,
    hosts,
    queries,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
