// The ONE place that writes text into rspamd's configuration language (UCL) and its map files.
//
// What is rendered:
// - the settings map (settings.ucl): per recipient domain, one rule with the domain's spam policy
//   (thresholds, the action, greylisting), one whitelist rule and one blacklist rule;
// - the DKIM selector map (dkim_selectors.map): "<domain> <selector>" for every domain that signs;
// - the static local configuration (deploy/templates/rspamd/**), filled with validated values.
//
// Escaping invariants:
// - Every string that reaches UCL goes through uclString(): a double-quoted string with `\` and `"`
//   escaped. Only printable ASCII is accepted (addresses and domains are ASCII after normalisation;
//   UCL's own escapes for the rest are not reliable across versions) and `$` is refused, because
//   UCL expands `$VAR`/`${VAR}` inside strings. Nothing else is special inside a quoted UCL string.
// - Values rspamd's settings module interprets are refused, not escaped: a leading `/` (a regexp)
//   and `map:` (a map reference). A list value is `local@domain` or `@domain` and nothing else. No
//   regexp is ever rendered: domains match with the settings module's exact `@domain` form.
// - Domains are A-labels only. rspamd 3.4 drops a UTF-8 SMTP address altogether, so a U-label rule
//   could never match; Postfix rewrites `x@bücher.test` to the A-label before the milter sees it
//   (smtpd_command_filter, deploy/templates/postfix/pgsql-idn-command-filter.cf).
// - Map files have no quoting at all: their keys and values are validated DNS names and selectors
//   (a whitespace, `#` or newline there would start another entry or a comment).
// - Numbers are finite and written with fixed decimals; rule names are generated, never user text.
// Failures throw RspamdRenderError with the field that is wrong.
import { fillTemplate } from './mailstack-config.js';

export class RspamdRenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'RspamdRenderError';
  }
}

/** A UCL double-quoted string holding exactly `s`. */
export function uclString(s: string, field = 'value'): string {
  if (typeof s !== 'string') throw new RspamdRenderError(field, 'must be a string');
  if (/[^\x20-\x7e]/.test(s)) throw new RspamdRenderError(field, 'only printable ASCII can be written to rspamd');
  if (s.includes('$')) throw new RspamdRenderError(field, 'must not contain "$" (UCL variable expansion)');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Dot-atom local part (RFC 5322) without `$` (see uclString) and without a leading `/`.
const LOCAL = /^(?!\/)[a-z0-9!#%&'*/=?^_`{|}~+-]+(?:\.[a-z0-9!#%&'*/=?^_`{|}~+-]+)*$/;

function checkDomain(field: string, d: unknown): string {
  if (typeof d !== 'string' || d.length > 253 || d.split('.').length < 2 || !d.split('.').every((l) => LABEL.test(l))) {
    throw new RspamdRenderError(field, `must be a lower-case DNS domain name (got ${JSON.stringify(d)})`);
  }
  return d;
}

/** A white/blacklist value as the settings module matches it: `local@domain` (whole address) or
 *  `@domain` (every sender of that domain). Lower-case, as rspamd lower-cases what it compares. */
export function checkListValue(field: string, v: unknown): string {
  if (typeof v !== 'string') throw new RspamdRenderError(field, 'must be a string');
  const at = v.lastIndexOf('@');
  if (at < 0) throw new RspamdRenderError(field, 'must be user@domain or @domain');
  checkDomain(field, v.slice(at + 1));
  const local = v.slice(0, at);
  if (local !== '' && (local.length > 64 || !LOCAL.test(local))) throw new RspamdRenderError(field, `not an address rspamd can match: ${JSON.stringify(v)}`);
  return v;
}

function num(field: string, v: unknown, min: number, max: number): string {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RspamdRenderError(field, `must be a number in ${min}..${max}`);
  return v.toFixed(2);
}

// --- the settings map ----------------------------------------------------------------------------

export type SpamActionName = 'MARK' | 'QUARANTINE' | 'REJECT';

export interface DomainSpamPolicy {
  /** Recipient domain (lower-case ASCII). */
  domain: string;
  /** Score at or above which the action applies. */
  threshold: number;
  action: SpamActionName;
  greylisting: boolean;
  /** `user@domain` or `@domain` values. */
  whitelist: readonly string[];
  blacklist: readonly string[];
}

export const SPAM_THRESHOLD_MIN = 1;
export const SPAM_THRESHOLD_MAX = 50;
/** Greylisting "on" greylists every first attempt: any score at or above this. */
export const GREYLIST_ALL_SCORE = -1000;
/** Score of PANEL_SENDER_BLACKLIST (groups.conf): above every threshold the panel accepts. */
export const BLACKLIST_SCORE = 100;
/** Header the rspamd milter sets on spam for Dovecot's Sieve (deploy/templates/dovecot/spam.sieve):
 *  "junk" or "quarantine"; always removed from what arrives. */
export const PANEL_SPAM_HEADER = 'X-Panel-Spam';
const PRIORITY = { whitelist: 3, blacklist: 2, domain: 1 } as const;

function policyApply(p: DomainSpamPolicy, field: string, indent: string): string {
  const t = num(`${field}.threshold`, p.threshold, SPAM_THRESHOLD_MIN, SPAM_THRESHOLD_MAX);
  const spamAction = { MARK: 'junk', QUARANTINE: 'quarantine', REJECT: 'reject' }[p.action];
  if (!spamAction) throw new RspamdRenderError(`${field}.action`, 'must be MARK, QUARANTINE or REJECT');
  const reject = p.action === 'REJECT' ? t : 'null';
  const addHeader = p.action === 'REJECT' ? 'null' : t;
  const greylist = p.greylisting === true ? GREYLIST_ALL_SCORE.toFixed(2) : 'null';
  const lines = [
    `apply {`,
    `  panel_spam_action = ${uclString(spamAction)};`,
    `  actions { reject = ${reject}; "add header" = ${addHeader}; "rewrite subject" = null; greylist = ${greylist}; }`,
  ];
  if (p.greylisting !== true) lines.push(`  symbols_disabled = ["GREYLIST_CHECK", "GREYLIST_SAVE"];`);
  lines.push('}');
  return lines.map((l) => indent + l).join('\n');
}

function listCondition(values: readonly string[], field: string): string {
  const list = `[${values.map((v, i) => uclString(checkListValue(`${field}[${i}]`, v), `${field}[${i}]`)).join(', ')}]`;
  // Envelope sender (MAIL FROM) or the From: header: newsletters send from a bounce address.
  return `from = ${list}; from_mime = ${list}; expression = "rcpt & (from | from_mime)";`;
}

/**
 * The settings map rspamd's settings module reads (`settings = "file://…/settings.ucl"`), re-read
 * without a restart. Domains are sorted so the same rows always give the same bytes (the worker
 * writes the file only when it changes).
 */
export function renderRspamdSettings(policies: readonly DomainSpamPolicy[]): string {
  const seen = new Set<string>();
  const sorted = [...policies].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  const out: string[] = ['# Rendered by the mail panel (core/src/render/rspamd.ts) from its database. Do not edit.', ''];
  sorted.forEach((p, i) => {
    const field = `policies[${p.domain}]`;
    const domain = checkDomain(`${field}.domain`, p.domain);
    if (seen.has(domain)) throw new RspamdRenderError(`${field}.domain`, 'appears twice');
    seen.add(domain);
    const n = String(i + 1).padStart(5, '0');
    const rcpt = `rcpt = ${uclString(`@${domain}`)};`;
    out.push(`# ${domain}`);
    if (p.whitelist.length > 0) {
      out.push(`panel_wl_${n} {`, `  priority = ${PRIORITY.whitelist};`, `  ${rcpt}`, `  ${listCondition(p.whitelist, `${field}.whitelist`)}`, `  whitelist = true;`, `}`);
    }
    if (p.blacklist.length > 0) {
      out.push(
        `panel_bl_${n} {`,
        `  priority = ${PRIORITY.blacklist};`,
        `  ${rcpt}`,
        `  ${listCondition(p.blacklist, `${field}.blacklist`)}`,
        `  symbols = ["PANEL_SENDER_BLACKLIST"];`,
        policyApply(p, field, '  '),
        `}`,
      );
    }
    out.push(`panel_d_${n} {`, `  priority = ${PRIORITY.domain};`, `  ${rcpt}`, policyApply(p, field, '  '), `}`, '');
  });
  return out.join('\n');
}

// --- the DKIM selector map ----------------------------------------------------------------------

export interface DkimSigningKey {
  domain: string;
  selector: string;
}

/** "<domain> <selector>" lines for rspamd's dkim_signing selector_map. */
export function renderDkimSelectorMap(keys: readonly DkimSigningKey[]): string {
  const seen = new Set<string>();
  const lines = [...keys]
    .sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0))
    .map((k, i) => {
      const domain = checkDomain(`keys[${i}].domain`, k.domain);
      if (seen.has(domain)) throw new RspamdRenderError(`keys[${i}].domain`, 'has two signing keys');
      seen.add(domain);
      if (typeof k.selector !== 'string' || !SELECTOR.test(k.selector)) throw new RspamdRenderError(`keys[${i}].selector`, 'must be one DNS label');
      return `${domain} ${k.selector}`;
    });
  return ['# Rendered by the mail panel. Do not edit.', ...lines, ''].join('\n');
}

/** The key file name rspamd reads for a domain and selector (dkim_signing `path`). */
export function dkimKeyFileName(domain: string, selector: string): string {
  checkDomain('domain', domain);
  if (!SELECTOR.test(selector)) throw new RspamdRenderError('selector', 'must be one DNS label');
  return `${domain}.${selector}.key`;
}

// --- the static local configuration ---------------------------------------------------------------

/** Templates below deploy/templates, rendered into rspamd's LOCAL_CONFDIR. */
export const RSPAMD_TEMPLATE_FILES = [
  'rspamd/local.d/options.inc',
  'rspamd/local.d/logging.inc',
  'rspamd/local.d/worker-normal.inc',
  'rspamd/local.d/worker-controller.inc',
  'rspamd/local.d/worker-proxy.inc',
  'rspamd/local.d/redis.conf',
  'rspamd/local.d/actions.conf',
  'rspamd/local.d/groups.conf',
  'rspamd/local.d/greylist.conf',
  'rspamd/local.d/milter_headers.conf',
  'rspamd/local.d/dkim_signing.conf',
  'rspamd/local.d/fuzzy_check.conf',
  'rspamd/local.d/rbl.conf',
  'rspamd/local.d/asn.conf',
  'rspamd/local.d/phishing.conf',
  'rspamd/local.d/url_redirector.conf',
  'rspamd/local.d/mx_check.conf',
  'rspamd/rspamd.conf.override',
] as const;
export type RspamdTemplateFile = (typeof RSPAMD_TEMPLATE_FILES)[number];

export interface RspamdSettings {
  /** Where the worker writes settings.ucl and dkim_selectors.map (RSPAMD_MAPS_DIR). */
  mapsDir: string;
  /** Where the worker writes the DKIM key files (DKIM_DIR). */
  dkimDir: string;
  /** rspamd's log file, or null to log to the console (containers). */
  logFile: string | null;
  /** Hyperscan cache folder; default "${DBDIR}/" (rspamd's own). */
  hsCacheDir?: string;
  ports: { normal: number; controller: number; proxy: number };
  /** Address the workers bind to. Default 127.0.0.1. */
  bindAddress?: string;
  /** Address of the milter (proxy worker) alone, e.g. 0.0.0.0 in a container Postfix reaches over a
   *  network, while the scanner and the controller (Debian's default controller password is "q1")
   *  stay on bindAddress. Default bindAddress. */
  proxyBindAddress?: string;
  /** Redis: an IPv4 address, or a host name (e.g. the compose service "redis"). */
  redis: { host: string; port: number };
  /** rspamd's resolver; default 127.0.0.1:53 (nothing leaves the machine when nothing listens). */
  dnsServer?: string;
  /** How often rspamd checks its map files for changes. Default 5 s. */
  mapWatchSeconds?: number;
  /** How long greylisting defers a first attempt. Default 300 s. */
  greylistDelaySeconds?: number;
  /** Greylist mail from local networks too (tests send from 127.0.0.1). Default false. */
  greylistLocal?: boolean;
}

const PATH_RE = /^(?:\/[A-Za-z0-9._+-]+)+\/?$/;
const IPV4_RE = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function checkPath(field: string, v: unknown): string {
  if (typeof v !== 'string' || !PATH_RE.test(v) || v.split('/').some((s) => s === '..' || s === '.')) {
    throw new RspamdRenderError(field, 'must be an absolute path of [A-Za-z0-9._+-] segments');
  }
  return v.length > 1 ? v.replace(/\/$/, '') : v;
}

function checkPort(field: string, v: unknown): string {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) throw new RspamdRenderError(field, 'must be a port number');
  return String(v);
}

function checkIpv4(field: string, v: unknown): string {
  if (typeof v !== 'string' || !IPV4_RE.test(v)) throw new RspamdRenderError(field, 'must be an IPv4 address');
  return v;
}

/** An IPv4 address or a host name of DNS labels (letters, digits, hyphens): nothing UCL reads. */
function checkHost(field: string, v: unknown): string {
  if (typeof v === 'string' && (IPV4_RE.test(v) || (v.length <= 253 && v.split('.').every((l) => LABEL.test(l.toLowerCase()))))) return v;
  throw new RspamdRenderError(field, 'must be an IPv4 address or a host name');
}

export function rspamdTemplateVars(s: RspamdSettings): Record<string, string> {
  const bind = checkIpv4('bindAddress', s.bindAddress ?? '127.0.0.1');
  const proxyBind = checkIpv4('proxyBindAddress', s.proxyBindAddress ?? bind);
  const dns = s.dnsServer ?? '127.0.0.1:53';
  const [dnsHost, dnsPort, extra] = dns.split(':');
  if (extra !== undefined || dnsPort === undefined) throw new RspamdRenderError('dnsServer', 'must be IPv4:port');
  checkIpv4('dnsServer', dnsHost);
  checkPort('dnsServer', Number(dnsPort));
  const ports = [s.ports.normal, s.ports.controller, s.ports.proxy];
  ports.forEach((p, i) => checkPort(`ports.${['normal', 'controller', 'proxy'][i]}`, p));
  if (new Set(ports).size !== 3) throw new RspamdRenderError('ports', 'must be three different ports');
  const mapsDir = checkPath('mapsDir', s.mapsDir);
  const dkimDir = checkPath('dkimDir', s.dkimDir);
  const logging = s.logFile === null ? 'type = "console";' : `type = "file";\nfilename = ${uclString(checkPath('logFile', s.logFile))};`;
  const watch = num('mapWatchSeconds', s.mapWatchSeconds ?? 5, 0.5, 3600);
  const delay = num('greylistDelaySeconds', s.greylistDelaySeconds ?? 300, 1, 86400);
  return {
    bindAddress: bind,
    normalSocket: uclString(`${bind}:${s.ports.normal}`),
    controllerSocket: uclString(`${bind}:${s.ports.controller}`),
    proxySocket: uclString(`${proxyBind}:${s.ports.proxy}`),
    redisServer: uclString(`${checkHost('redis.host', s.redis.host)}:${checkPort('redis.port', s.redis.port)}`),
    dnsServer: uclString(dns),
    mapWatchInterval: `${watch}s`,
    greylistDelay: `${delay}s`,
    greylistCheckLocal: s.greylistLocal === true ? 'true' : 'false',
    greylistMinScore: GREYLIST_ALL_SCORE.toFixed(2),
    blacklistScore: BLACKLIST_SCORE.toFixed(2),
    panelSpamHeader: PANEL_SPAM_HEADER,
    logging,
    hsCacheDir: s.hsCacheDir === undefined ? '"${DBDIR}/"' : uclString(`${checkPath('hsCacheDir', s.hsCacheDir)}/`),
    settingsMapUrl: uclString(`file://${mapsDir}/settings.ucl`),
    selectorMapUrl: uclString(`file://${mapsDir}/dkim_selectors.map`),
    dkimKeyPath: uclString(`${dkimDir}/`).replace(/"$/, '$domain.$selector.key"'),
  };
}

/** Renders every rspamd template; keys are paths relative to rspamd's LOCAL_CONFDIR. */
export function renderRspamdConfig(settings: RspamdSettings, templates: Readonly<Record<string, string>>): Record<string, string> {
  const vars = rspamdTemplateVars(settings);
  const out: Record<string, string> = {};
  for (const file of RSPAMD_TEMPLATE_FILES) {
    const t = templates[file];
    if (typeof t !== 'string') throw new RspamdRenderError(`template ${file}`, 'is missing');
    out[file.replace(/^rspamd\//, '')] = fillTemplate(file, t, vars);
  }
  return out;
}
