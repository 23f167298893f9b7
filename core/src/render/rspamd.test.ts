// Pure tests of the rspamd renderer, against the real templates in deploy/templates/rspamd. That rspamd
// accepts the output and obeys it is the mail-stack suite's job (e2e/mailstack/email-security.test.ts
// runs `rspamadm configtest` and real mail through the milter).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  RSPAMD_TEMPLATE_FILES,
  RspamdRenderError,
  checkListValue,
  dkimKeyFileName,
  renderDkimSelectorMap,
  renderRspamdConfig,
  renderRspamdSettings,
  uclString,
  type DomainSpamPolicy,
  type RspamdSettings,
} from './rspamd.js';

const templatesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/templates');
const templates = Object.fromEntries(RSPAMD_TEMPLATE_FILES.map((f) => [f, readFileSync(path.join(templatesDir, f), 'utf8')]));

/** Reads back a UCL double-quoted string (the subset uclString writes): returns its value and the rest. */
function readUclString(s: string): { value: string; rest: string } {
  expect(s[0]).toBe('"');
  let value = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      value += s[++i];
      continue;
    }
    if (c === '"') return { value, rest: s.slice(i + 1) };
    value += c;
  }
  throw new Error(`unterminated string: ${s}`);
}

const policy = (over: Partial<DomainSpamPolicy> = {}): DomainSpamPolicy => ({
  domain: 'example.test',
  threshold: 6,
  action: 'MARK',
  greylisting: false,
  whitelist: [],
  blacklist: [],
  ...over,
});

/** The body of the rule named like `re` in a rendered settings map. */
function rule(out: string, re: RegExp): string {
  const m = new RegExp(`^${re.source} \\{\\n([\\s\\S]*?)^\\}$`, 'm').exec(out);
  if (!m) throw new Error(`no rule ${re} in\n${out}`);
  return m[1]!;
}

describe('uclString', () => {
  it.each([
    ['plain', 'user@example.test'],
    ['quotes', 'a"b'],
    ['backslashes', 'a\\b\\'],
    ['a closing quote and a new rule', '"; whitelist = true; x = "'],
    ['braces and semicolons', '} panel_evil { priority = 100; whitelist = true; }'],
    ['comment starters', '# /* // */'],
    ['a trailing backslash', 'x\\'],
  ])('round-trips %s exactly and stays one string', (_n, s) => {
    const q = uclString(s);
    const { value, rest } = readUclString(q);
    expect(value).toBe(s);
    expect(rest).toBe('');
  });

  it.each([
    ['a newline', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['NUL', 'a\0b'],
    ['a tab', 'a\tb'],
    ['DEL', 'a\x7fb'],
    ['non-ASCII', 'grüße@example.test'],
    ['a right-to-left override', 'a\u202eb'],
    ['a variable', '${CONFDIR}'],
    ['a bare dollar', 'a$b@example.test'],
  ])('refuses %s', (_n, s) => {
    expect(() => uclString(s)).toThrow(RspamdRenderError);
  });
});

describe('white/blacklist values', () => {
  it.each(['user@example.test', '@example.test', "o'brien@example.test", 'a+b@sub.example.test', 'x#y@example.test', "!#%&'*/=?^_`{|}~+-@example.test"])(
    'accepts %s',
    (v) => expect(checkListValue('v', v)).toBe(v),
  );

  it.each([
    ['no @', 'example.test'],
    ['a regexp (leading /)', '/.*/@example.test'],
    ['a map reference', 'map:/etc/passwd'],
    ['a map reference with @', 'map:x@example.test'],
    ['upper case', 'User@Example.test'],
    ['a dollar (UCL variable)', 'a$b@example.test'],
    ['a space', 'a b@example.test'],
    ['a quote', 'a"b@example.test'],
    ['a newline', 'a@example.test\n'],
    ['a comma', 'a,b@example.test'],
    ['a double dot', 'a..b@example.test'],
    ['a one-label domain', 'a@localhost'],
    ['an IDN in Unicode', 'a@bücher.example'],
    ['path traversal', '../../etc/passwd@example.test'],
  ])('refuses %s', (_n, v) => {
    expect(() => checkListValue('v', v)).toThrow(RspamdRenderError);
  });
});

describe('renderRspamdSettings', () => {
  it('gives each domain a rule matching its recipients, with its threshold for its action', () => {
    const out = renderRspamdSettings([
      policy({ domain: 'mark.test', threshold: 5.5 }),
      policy({ domain: 'quarantine.test', action: 'QUARANTINE', threshold: 4 }),
      policy({ domain: 'reject.test', action: 'REJECT', threshold: 8, greylisting: true }),
    ]);
    const mark = rule(out, /panel_d_00001/);
    expect(mark).toContain('rcpt = "@mark.test";');
    expect(mark).toContain('panel_spam_action = "junk";');
    expect(mark).toContain('actions { reject = null; "add header" = 5.50; "rewrite subject" = null; greylist = null; }');
    expect(mark).toContain('symbols_disabled = ["GREYLIST_CHECK", "GREYLIST_SAVE"];');
    const q = rule(out, /panel_d_00002/);
    expect(q).toContain('rcpt = "@quarantine.test";');
    expect(q).toContain('panel_spam_action = "quarantine";');
    expect(q).toContain('"add header" = 4.00');
    const r = rule(out, /panel_d_00003/);
    expect(r).toContain('panel_spam_action = "reject";');
    expect(r).toContain('actions { reject = 8.00; "add header" = null; "rewrite subject" = null; greylist = -1000.00; }');
    expect(r).not.toContain('symbols_disabled');
    expect(out).not.toContain('panel_wl_');
    expect(out).not.toContain('panel_bl_');
  });

  it('puts the whitelist first (no checks at all) and the blacklist second (a 100-point symbol), both per recipient domain', () => {
    const out = renderRspamdSettings([policy({ whitelist: ['friend@a.test', '@partner.test'], blacklist: ['spam@b.test'] })]);
    const wl = rule(out, /panel_wl_00001/);
    expect(wl).toContain('priority = 3;');
    expect(wl).toContain('rcpt = "@example.test";');
    expect(wl).toContain('from = ["friend@a.test", "@partner.test"]; from_mime = ["friend@a.test", "@partner.test"]; expression = "rcpt & (from | from_mime)";');
    expect(wl).toContain('whitelist = true;');
    const bl = rule(out, /panel_bl_00001/);
    expect(bl).toContain('priority = 2;');
    expect(bl).toContain('symbols = ["PANEL_SENDER_BLACKLIST"];');
    expect(bl).toContain('"add header" = 6.00');
    expect(rule(out, /panel_d_00001/)).toContain('priority = 1;');
  });

  it('is the same bytes for the same rows in any order', () => {
    const a = [policy({ domain: 'b.test' }), policy({ domain: 'a.test', blacklist: ['x@y.test'] })];
    expect(renderRspamdSettings(a)).toBe(renderRspamdSettings([...a].reverse()));
    expect(renderRspamdSettings([])).toMatch(/^# Rendered by the mail panel/);
  });

  it.each([
    ['a threshold below the range', { threshold: 0.5 }, 'threshold'],
    ['a threshold above the range', { threshold: 51 }, 'threshold'],
    ['NaN', { threshold: Number.NaN }, 'threshold'],
    ['Infinity', { threshold: Number.POSITIVE_INFINITY }, 'threshold'],
    ['an unknown action', { action: 'DISCARD' as never }, 'action'],
    ['a domain with a quote', { domain: 'a".test' }, 'domain'],
    ['a domain with a newline', { domain: 'a.test\n}' }, 'domain'],
    ['an upper-case domain', { domain: 'A.test' }, 'domain'],
    ['a hostile whitelist entry', { whitelist: ['"; whitelist = true; x = "@a.test'] }, 'whitelist[0]'],
    ['a blacklist regexp', { blacklist: ['/.*/'] }, 'blacklist[0]'],
  ])('refuses %s', (_n, over, field) => {
    try {
      renderRspamdSettings([policy(over as Partial<DomainSpamPolicy>)]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RspamdRenderError);
      expect((e as RspamdRenderError).field).toContain(field);
    }
  });

  it('refuses the same domain twice', () => {
    expect(() => renderRspamdSettings([policy(), policy()])).toThrow(/appears twice/);
  });
});

describe('DKIM selector map and key files', () => {
  it('writes one "<domain> <selector>" line per signing domain', () => {
    expect(renderDkimSelectorMap([{ domain: 'b.test', selector: 's2' }, { domain: 'a.test', selector: 'mail' }]).split('\n').slice(1)).toEqual([
      'a.test mail',
      'b.test s2',
      '',
    ]);
    expect(dkimKeyFileName('a.test', 'mail')).toBe('a.test.mail.key');
  });

  it.each([
    [{ domain: 'a.test', selector: 'a b' }],
    [{ domain: 'a.test', selector: 'x\nevil.test y' }],
    [{ domain: 'a.test #', selector: 'x' }],
    [{ domain: '../a.test', selector: 'x' }],
    [{ domain: 'a.test', selector: '../../x' }],
  ])('refuses %j', (k) => {
    expect(() => renderDkimSelectorMap([k])).toThrow(RspamdRenderError);
    expect(() => dkimKeyFileName(k.domain, k.selector)).toThrow(RspamdRenderError);
  });

  it('refuses two keys for one domain', () => {
    expect(() => renderDkimSelectorMap([{ domain: 'a.test', selector: 'x' }, { domain: 'a.test', selector: 'y' }])).toThrow(RspamdRenderError);
  });
});

describe('renderRspamdConfig (static local configuration)', () => {
  const settings: RspamdSettings = {
    mapsDir: '/srv/panel/rspamd',
    dkimDir: '/srv/panel/dkim',
    logFile: '/var/log/rspamd/rspamd.log',
    ports: { normal: 11333, controller: 11334, proxy: 11332 },
    redis: { host: '127.0.0.1', port: 6379 },
  };

  it('fills every template: loopback sockets, the panel maps, DNS at 127.0.0.1:53, network modules off', () => {
    const out = renderRspamdConfig(settings, templates);
    expect(Object.keys(out).sort()).toEqual(RSPAMD_TEMPLATE_FILES.map((f) => f.replace(/^rspamd\//, '')).sort());
    for (const text of Object.values(out)) expect(text).not.toContain('{{');
    expect(out['local.d/worker-proxy.inc']).toContain('bind_socket = "127.0.0.1:11332";');
    expect(out['local.d/worker-proxy.inc']).toContain('milter = yes;');
    expect(out['local.d/options.inc']).toContain('nameserver = ["127.0.0.1:53"];');
    expect(out['local.d/options.inc']).toContain('map_watch_interval = 5.00s;');
    expect(out['rspamd.conf.override']).toContain('settings = "file:///srv/panel/rspamd/settings.ucl";');
    expect(out['local.d/dkim_signing.conf']).toContain('selector_map = "file:///srv/panel/rspamd/dkim_selectors.map";');
    expect(out['local.d/dkim_signing.conf']).toContain('path = "/srv/panel/dkim/$domain.$selector.key";');
    expect(out['local.d/greylist.conf']).toContain('timeout = 300.00s;');
    expect(out['local.d/greylist.conf']).toContain('check_local = false;');
    expect(out['local.d/milter_headers.conf']).toContain("['X-Panel-Spam'] = 0");
    for (const m of ['fuzzy_check', 'rbl', 'asn', 'phishing', 'url_redirector', 'mx_check']) expect(out[`local.d/${m}.conf`]).toContain('enabled = false;');
    expect(out['local.d/logging.inc']).toContain('filename = "/var/log/rspamd/rspamd.log";');
    expect(renderRspamdConfig({ ...settings, logFile: null }, templates)['local.d/logging.inc']).toContain('type = "console";');
    expect(renderRspamdConfig({ ...settings, redis: { host: 'redis', port: 6379 } }, templates)['local.d/redis.conf']).toContain('servers = "redis:6379";');
    const container = renderRspamdConfig({ ...settings, proxyBindAddress: '0.0.0.0' }, templates);
    expect(container['local.d/worker-proxy.inc']).toContain('bind_socket = "0.0.0.0:11332";');
    expect(container['local.d/worker-controller.inc']).toContain('bind_socket = "127.0.0.1:11334";');
    expect(container['local.d/worker-normal.inc']).toContain('bind_socket = "127.0.0.1:11333";');
  });

  it.each([
    ['a relative maps folder', { mapsDir: 'rspamd' }, 'mapsDir'],
    ['a maps folder with a quote', { mapsDir: '/srv/"x' }, 'mapsDir'],
    ['a maps folder with ..', { mapsDir: '/srv/../etc' }, 'mapsDir'],
    ['a DKIM folder with a space', { dkimDir: '/srv/my keys' }, 'dkimDir'],
    ['a DNS server name', { dnsServer: 'dns.example:53' }, 'dnsServer'],
    ['a DNS server without port', { dnsServer: '127.0.0.1' }, 'dnsServer'],
    ['two workers on one port', { ports: { normal: 1, controller: 1, proxy: 2 } }, 'ports'],
    ['a bind address with an injection', { bindAddress: '127.0.0.1"; x="' }, 'bindAddress'],
    ['a milter address that is a name', { proxyBindAddress: 'rspamd' }, 'proxyBindAddress'],
    ['a zero map interval', { mapWatchSeconds: 0 }, 'mapWatchSeconds'],
    ['a Redis host with a quote', { redis: { host: 'redis";x', port: 6379 } }, 'redis.host'],
    ['a Redis host with a space', { redis: { host: 'red is', port: 6379 } }, 'redis.host'],
  ])('refuses %s', (_n, over, field) => {
    try {
      renderRspamdConfig({ ...settings, ...(over as Partial<RspamdSettings>) }, templates);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RspamdRenderError);
      expect((e as RspamdRenderError).field).toBe(field);
    }
  });
});
