// Which source servers a migration may connect to. The panel connects wherever a customer says, so
// without a rule it could be aimed at the hosting company's own internal services (SSRF). Loopback,
// private, link-local and similar addresses are refused unless MIGRATION_ALLOW_PRIVATE_SOURCES
// allows them (by default only outside production, for local trials and the tests).
import { lookup } from 'node:dns/promises';
import net from 'node:net';

const V4_BLOCKS: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
}

export function isPrivateAddress(ip: string): boolean {
  if (net.isIPv4(ip)) {
    const n = v4ToInt(ip);
    return V4_BLOCKS.some(([base, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(v4ToInt(base) / 2 ** (32 - bits)));
  }
  if (net.isIPv6(ip)) {
    const v = ip.toLowerCase();
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v);
    if (mapped) return isPrivateAddress(mapped[1]!);
    return v === '::' || v === '::1' || /^f[cd]/.test(v) || /^fe[89ab]/.test(v) || /^ff/.test(v);
  }
  return true;
}

/** A host name or IP literal as typed: letters, digits, dots, hyphens (or an IPv6 literal). */
export function validHostSyntax(host: string): boolean {
  if (net.isIP(host)) return true;
  return host.length <= 253 && /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(host);
}

/** Null when the host may be used; otherwise why not. DNS failures are left to the connection. */
export async function sourceAddressProblem(host: string, allowPrivate: boolean): Promise<string | null> {
  if (allowPrivate) return null;
  let addresses: string[];
  try {
    addresses = net.isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return null;
  }
  return addresses.some(isPrivateAddress) ? 'This address is on a private or local network, which migrations may not connect to' : null;
}
