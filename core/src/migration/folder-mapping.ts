// Where each source folder goes in the target mailbox. Pure: the same listing always gives the same
// plan, so a resumed or re-run migration writes into the same folders.
//
// Invariants ("the folder tree as it was"):
// - INBOX maps to INBOX. Every other folder keeps its name exactly (Unicode, spaces, "." inside a
//   name): only the source's personal-namespace prefix ("INBOX." on Courier and Cyrus) is removed and
//   its hierarchy separator replaced by the target's "/". The only changes: a "/" inside a segment
//   (impossible in the target) becomes "_", control characters are dropped, an empty segment is "_".
// - A folder maps to a target special-use folder (\Sent, \Drafts, \Trash, \Junk, \Archive) only
//   when the source flags it so (SPECIAL-USE or XLIST) — or, on a source that flags nothing at all, by
//   a well-known name in several languages — and only when the target has a folder with that role
//   (otherwise it keeps its name). Its subfolders follow it.
// - Never are two source folders merged into one: one source folder per role, and a name the plan
//   already gave away is not given again (the later folder keeps its own name, or gets " (2)").
// - Overrides (chosen per folder at start) win over everything, but obey the same no-merge rule.
// - Virtual folders (\All, \Flagged, \Important: Gmail's views of mail that lives elsewhere) are
//   listed but not copied, or every message would arrive twice. \Noselect containers are not
//   folders of their own; their children create them.

export const TARGET_SEPARATOR = '/';

export type Role = 'inbox' | 'sent' | 'drafts' | 'trash' | 'junk' | 'archive';

export interface SourceFolder {
  /** Full path as the server lists it, decoded to UTF-8 (imapflow's `path`). */
  path: string;
  delimiter: string | null;
  flags: string[];
  specialUse?: string | null;
}

export interface PlanOptions {
  personalPrefix?: string;
  /** The target's folders with their special-use; the panel's Sent, Drafts, Trash, Junk are assumed besides. */
  target?: TargetFolder[];
  /** The source announces roles (SPECIAL-USE or XLIST): names alone then never make a role folder. */
  sourceFlagsRoles?: boolean;
  /** Source path → target name, chosen by a person. */
  overrides?: Record<string, string>;
}

export interface TargetFolder {
  name: string;
  specialUse?: string | null;
}

export interface FolderPlan {
  sourcePath: string;
  targetName: string;
  /** The role that decided the target name, as an IMAP special-use attribute. */
  specialUse: string | null;
  copy: boolean;
  /** Why a folder is not copied. */
  skipReason?: string;
}

const ROLE_ATTR: Record<Role, string> = {
  inbox: '\\Inbox',
  sent: '\\Sent',
  drafts: '\\Drafts',
  trash: '\\Trash',
  junk: '\\Junk',
  archive: '\\Archive',
};
const ATTR_ROLE = new Map(Object.entries(ROLE_ATTR).map(([r, a]) => [a.toLowerCase(), r as Role]));
const VIRTUAL = new Set(['\\all', '\\flagged', '\\important']);

/** Well-known names of role folders on servers that do not announce SPECIAL-USE (lower case). */
const NAMES: Record<Exclude<Role, 'inbox' | 'archive'>, string[]> = {
  sent: [
    'sent', 'sent items', 'sent messages', 'sent mail', 'sent-mail', 'outbox sent', 'gesendet', 'gesendete objekte',
    'gesendete elemente', 'gesendete nachrichten', 'envoyés', 'éléments envoyés', 'messages envoyés', 'enviados',
    'elementos enviados', 'posta inviata', 'inviata', 'verzonden', 'verzonden items', 'skickat', 'skickade', 'wysłane',
    'odeslané', 'enviadas',
  ],
  drafts: ['drafts', 'draft', 'entwürfe', 'brouillons', 'borradores', 'bozze', 'concepten', 'utkast', 'kopie robocze', 'rascunhos'],
  trash: [
    'trash', 'deleted items', 'deleted messages', 'deleted', 'bin', 'papierkorb', 'gelöschte elemente', 'gelöschte objekte',
    'corbeille', 'éléments supprimés', 'papelera', 'elementos eliminados', 'cestino', 'prullenbak', 'verwijderde items',
    'papperskorgen', 'kosz', 'lixeira', 'lixo',
  ],
  junk: [
    'junk', 'junk e-mail', 'junk email', 'junk mail', 'spam', 'bulk mail', 'spamverdacht', 'junk-e-mail', 'courrier indésirable',
    'indésirables', 'pourriel', 'correo no deseado', 'posta indesiderata', 'ongewenste e-mail', 'skräppost', 'lixo eletrônico',
  ],
};
const NAME_ROLE = new Map<string, Role>();
for (const [role, names] of Object.entries(NAMES)) for (const n of names) NAME_ROLE.set(n, role as Role);

/** Containers some providers put their role folders in ("[Gmail]/Sent Mail"). */
const CONTAINERS = new Set(['[gmail]', '[google mail]']);

export function roleOfAttribute(attr: string | null | undefined): Role | null {
  return attr ? ATTR_ROLE.get(attr.toLowerCase()) ?? null : null;
}

export function roleOfName(segments: string[]): Role | null {
  if (segments.length === 1) return NAME_ROLE.get(segments[0]!.trim().toLowerCase()) ?? null;
  if (segments.length === 2 && CONTAINERS.has(segments[0]!.toLowerCase())) return NAME_ROLE.get(segments[1]!.trim().toLowerCase()) ?? null;
  return null;
}

export function sanitizeSegment(segment: string): string {
  // eslint-disable-next-line no-control-regex
  const s = segment.replace(/[\x00-\x1f\x7f]/g, '').replace(/\//g, '_');
  return s.trim() === '' ? '_' : s;
}

/** The source path split into segments below the personal namespace prefix. */
export function relativeSegments(path: string, delimiter: string | null, personalPrefix: string): string[] {
  let rel = path;
  if (personalPrefix && path.toUpperCase() !== 'INBOX') {
    const p = personalPrefix;
    if (rel.startsWith(p)) rel = rel.slice(p.length);
    else if (rel.toUpperCase().startsWith(p.toUpperCase())) rel = rel.slice(p.length);
  }
  if (!delimiter) return [rel];
  return rel.split(delimiter);
}

function isInbox(path: string, segments: string[]): boolean {
  return path.toUpperCase() === 'INBOX' || (segments.length === 1 && segments[0]!.toUpperCase() === 'INBOX');
}

/** The panel's own role folders (deploy/templates/dovecot): no \Archive. */
export const STANDARD_TARGET: TargetFolder[] = [
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Junk', specialUse: '\\Junk' },
];

/** Whether a target name is one a person may choose: "/"-separated, no empty segment, no control characters. */
export function validTargetName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name.length <= 512 && !/[\x00-\x1f\x7f]/.test(name) && name.split(TARGET_SEPARATOR).every((s) => s.trim() !== '');
}

export function planFolders(source: SourceFolder[], opts: PlanOptions = {}): FolderPlan[] {
  const prefix = opts.personalPrefix ?? '';
  const targetByRole = new Map<Role, string>();
  // The target's own role folders first; the panel's standard ones (which provisioning and Dovecot's
  // auto = subscribe create) when the target does not list them yet.
  for (const t of [...(opts.target ?? []), ...STANDARD_TARGET]) {
    const role = roleOfAttribute(t.specialUse);
    if (role && role !== 'inbox' && !targetByRole.has(role)) targetByRole.set(role, t.name);
  }

  const entries = source.map((f) => {
    const segments = relativeSegments(f.path, f.delimiter, prefix);
    const flags = f.flags.map((x) => x.toLowerCase());
    const attr = f.specialUse ?? f.flags.find((x) => ATTR_ROLE.has(x.toLowerCase()) || VIRTUAL.has(x.toLowerCase())) ?? null;
    return { f, segments, flags, attr };
  });
  const flagged = opts.sourceFlagsRoles ?? entries.some((e) => roleOfAttribute(e.attr) !== null && roleOfAttribute(e.attr) !== 'inbox');
  const ownName = (segments: string[]) =>
    (segments[0]?.toUpperCase() === 'INBOX' && segments.length > 1 ? ['INBOX', ...segments.slice(1)] : segments)
      .map((s, i) => (i === 0 && s.toUpperCase() === 'INBOX' ? 'INBOX' : sanitizeSegment(s)))
      .join(TARGET_SEPARATOR);

  // Roles: by attribute on a source that flags them, else by well-known name; the first folder of a
  // role takes it (listing order), and only when the target has a folder with that role.
  const roleTarget = new Map<string, string>();
  const taken = new Set<Role>();
  for (const e of entries) {
    if (isInbox(e.f.path, e.segments)) {
      roleTarget.set(e.f.path, 'INBOX');
      continue;
    }
    const role = flagged ? roleOfAttribute(e.attr) : e.attr ? null : roleOfName(e.segments);
    if (!role || role === 'inbox' || taken.has(role) || !targetByRole.has(role)) continue;
    taken.add(role);
    roleTarget.set(e.f.path, targetByRole.get(role)!);
  }

  const used = new Set<string>();
  const key = (name: string) => (name.toUpperCase() === 'INBOX' ? 'INBOX' : name);
  const claim = (wanted: string, fallback: string): string => {
    for (const candidate of [wanted, fallback]) if (!used.has(key(candidate))) return candidate;
    for (let n = 2; ; n++) if (!used.has(key(`${fallback} (${n})`))) return `${fallback} (${n})`;
  };

  const plans: FolderPlan[] = [];
  // INBOX and role folders first, so that they win the names they map to.
  const order = [...entries].sort((a, b) => Number(!roleTarget.has(a.f.path)) - Number(!roleTarget.has(b.f.path)));
  for (const e of order) {
    if (e.flags.includes('\\noselect') || e.flags.includes('\\nonexistent')) continue;
    const own = ownName(e.segments);
    const attrLower = e.attr?.toLowerCase() ?? '';
    if (VIRTUAL.has(attrLower)) {
      plans.push({ sourcePath: e.f.path, targetName: own, specialUse: e.attr, copy: false, skipReason: 'A virtual folder: its messages are copied from the folders they live in' });
      continue;
    }
    const override = opts.overrides?.[e.f.path];
    let wanted = override ?? roleTarget.get(e.f.path) ?? null;
    if (wanted === null) {
      // A descendant of a role folder follows the role folder's target name.
      for (let depth = e.segments.length - 1; depth >= 1 && wanted === null; depth--) {
        const ancestor = entries.find((a) => a.segments.length === depth && a.segments.every((s, i) => s === e.segments[i]));
        const target = ancestor && roleTarget.get(ancestor.f.path);
        if (target && target !== 'INBOX') wanted = [target, ...e.segments.slice(depth).map(sanitizeSegment)].join(TARGET_SEPARATOR);
      }
    }
    const name = claim(wanted ?? own, own);
    used.add(key(name));
    const role = roleTarget.has(e.f.path) && name === roleTarget.get(e.f.path) && name !== 'INBOX' ? roleOfAttribute(e.attr) ?? roleOfName(e.segments) : null;
    plans.push({ sourcePath: e.f.path, targetName: name, specialUse: role ? ROLE_ATTR[role] : null, copy: true });
  }
  // INBOX first, then role folders, then the rest by name: a stable order for folder rows.
  const rank = (p: FolderPlan) => (p.targetName === 'INBOX' ? 0 : p.specialUse && p.copy ? 1 : 2);
  return plans.sort((a, b) => rank(a) - rank(b) || a.targetName.localeCompare(b.targetName) || a.sourcePath.localeCompare(b.sourcePath));
}
