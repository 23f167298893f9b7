// TXT lookups for checkDnsRecords, through node:dns with the server from DNS_SERVER (else the system
// resolver). Thin I/O: what the answers mean is core/src/dns-check.ts.
import { Resolver } from 'node:dns/promises';
import { config } from '@mailpanel/core/env';

export type TxtLookup = { ok: true; answers: string[][] } | { ok: false; error: string };

/** "No such name" and "no TXT record" are answers (empty); timeouts and server failures are not. */
const EMPTY = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

export async function lookupTxt(name: string, opts: { server?: string; timeoutMs?: number } = {}): Promise<TxtLookup> {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 3000, tries: 2 });
  const server = opts.server ?? config().DNS_SERVER;
  if (server) resolver.setServers([server]);
  try {
    return { ok: true, answers: await resolver.resolveTxt(name) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    if (EMPTY.has(code)) return { ok: true, answers: [] };
    return { ok: false, error: code === 'ETIMEOUT' ? 'The DNS server did not answer in time' : `DNS lookup failed (${code})` };
  } finally {
    resolver.cancel();
  }
}
