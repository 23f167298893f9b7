// DNS lookups for checkDnsRecords, through node:dns with the server from DNS_SERVER (else the system
// resolver). Thin I/O: what the answers mean is core/src/dns-check.ts.
import { Resolver } from 'node:dns/promises';
import { config } from '@mailpanel/core/env';

export type Lookup<T> = { ok: true; answers: T[] } | { ok: false; error: string };
export type TxtLookup = Lookup<string[]>;
type Options = { server?: string; timeoutMs?: number };

/** "No such name" and "no record of this type" are answers (empty); timeouts and server failures are not. */
const EMPTY = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

async function lookup<T>(query: (r: Resolver) => Promise<T[]>, opts: Options): Promise<Lookup<T>> {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 3000, tries: 2 });
  const server = opts.server ?? config().DNS_SERVER;
  if (server) resolver.setServers([server]);
  try {
    return { ok: true, answers: await query(resolver) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    if (EMPTY.has(code)) return { ok: true, answers: [] };
    return { ok: false, error: code === 'ETIMEOUT' ? 'The DNS server did not answer in time' : `DNS lookup failed (${code})` };
  } finally {
    resolver.cancel();
  }
}

export function lookupTxt(name: string, opts: Options = {}): Promise<TxtLookup> {
  return lookup((r) => r.resolveTxt(name), opts);
}

/** MX, CNAME or SRV answers in presentation order: "10 mx.host", "mx.host", "0 1 993 mx.host". */
export function lookupHostRecords(name: string, type: 'MX' | 'CNAME' | 'SRV', opts: Options = {}): Promise<Lookup<string>> {
  switch (type) {
    case 'MX':
      return lookup(async (r) => (await r.resolveMx(name)).map((m) => `${m.priority} ${m.exchange}`), opts);
    case 'CNAME':
      return lookup((r) => r.resolveCname(name), opts);
    case 'SRV':
      return lookup(async (r) => (await r.resolveSrv(name)).map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`), opts);
  }
}
