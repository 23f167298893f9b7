// Where each source folder goes in the target mailbox. Pure: the same listing always gives the same
// plan, so a resumed or re-run migration writes into the same folders.
//
// Invariants:
// - INBOX maps to INBOX; a special-use folder (\Sent, \Drafts, \Trash, \Junk, \Archive — from the
//   server's SPECIAL-USE attributes, or failing that from well-known names in several languages) maps
//   to the target folder with that role, whatever either side calls it. Its subfolders follow it.
// - Every other folder keeps its name: the source's personal-namespace prefix ("INBOX." on Courier
//   and Cyrus) is removed and its hierarchy separator replaced by the target's "/".
// - Virtual folders (\All, \Flagged, \Important: Gmail's views of mail that lives elsewhere) are
//   listed but not copied, or every message would arrive twice. \Noselect containers are not
//   folders of their own; their children create them.
// - Names are made safe for the target: no empty segments, no separator or "." inside a segment
//   (Dovecot's Maildir++ layout uses "." on disk), no control characters.

export const TARGET_SEPARATOR = '/';

export type Role = 'inbox' | 'sent' | 'drafts' | 'trash' | 'junk' | 'archive';

export interface SourceFolder {
  /** Full path as the server lists it, decoded to UTF-8 (imapflow's `path`). */
  path: string;
  delimiter: string | null;
  flags: string[];
  specialUse?: string | null;
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
const DEFAULT_TARGET: Record<Exclude<Role, 'inbox'>, string> = { sent: 'Sent', drafts: 'Drafts', trash: 'Trash', junk: 'Junk', archive: 'Archive' };
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
  const s = segment.replace(/[\x00-\x1f\x7f]/g, '').replace(/[/.]/g, '_').trim();
  return s === '' ? '_' : s;
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

export function planFolders(source: SourceFolder[], opts: { personalPrefix?: string; target?: TargetFolder[] } = {}): FolderPlan[] {
  const prefix = opts.personalPrefix ?? '';
  const targetByRole = new Map<Role, string>();
  for (const t of opts.target ?? []) {
    const role = roleOfAttribute(t.specialUse);
    if (role && role !== 'inbox' && !targetByRole.has(role)) targetByRole.set(role, t.name);
  }
  const roleTarget = (role: Role) => (role === 'inbox' ? 'INBOX' : targetByRole.get(role) ?? DEFAULT_TARGET[role]);

  // First pass: the role of every top-level folder (by attribute, then by name), so that children
  // of a renamed role folder follow it ("Sent Items/2019" → "Sent/2019").
  const entries = source.map((f) => {
    const segments = relativeSegments(f.path, f.delimiter, prefix);
    const flags = f.flags.map((x) => x.toLowerCase());
    const attr = f.specialUse ?? f.flags.find((x) => ATTR_ROLE.has(x.toLowerCase()) || VIRTUAL.has(x.toLowerCase())) ?? null;
    return { f, segments, flags, attr };
  });
  const rolesByPath = new Map<string, Role>();
  // Attribute roles win over name roles. Several source folders may land in the same target folder
  // ("Sent" and "Sent Items"): their mail is merged, and deduplication keeps it single.
  for (const e of entries) {
    if (isInbox(e.f.path, e.segments)) rolesByPath.set(e.f.path, 'inbox');
    else {
      const role = roleOfAttribute(e.attr);
      if (role && role !== 'inbox') {
        rolesByPath.set(e.f.path, role);
      }
    }
  }
  for (const e of entries) {
    if (rolesByPath.has(e.f.path) || e.attr) continue;
    const role = roleOfName(e.segments);
    if (role) rolesByPath.set(e.f.path, role);
  }

  const plans: FolderPlan[] = [];
  for (const e of entries) {
    if (e.flags.includes('\\noselect') || e.flags.includes('\\nonexistent')) continue;
    const attrLower = e.attr?.toLowerCase() ?? '';
    if (VIRTUAL.has(attrLower)) {
      plans.push({ sourcePath: e.f.path, targetName: e.segments.map(sanitizeSegment).join(TARGET_SEPARATOR), specialUse: e.attr, copy: false, skipReason: 'A virtual folder: its messages are copied from the folders they live in' });
      continue;
    }
    const own = rolesByPath.get(e.f.path);
    if (own) {
      plans.push({ sourcePath: e.f.path, targetName: roleTarget(own), specialUse: ROLE_ATTR[own], copy: true });
      continue;
    }
    // A descendant of a role folder follows the role folder's target name.
    let target: string | null = null;
    for (let depth = e.segments.length - 1; depth >= 1 && target === null; depth--) {
      const ancestor = entries.find((a) => a.segments.length === depth && a.segments.every((s, i) => s === e.segments[i]));
      const role = ancestor && rolesByPath.get(ancestor.f.path);
      if (role) target = [roleTarget(role), ...e.segments.slice(depth).map(sanitizeSegment)].join(TARGET_SEPARATOR);
    }
    if (target === null) {
      const segs = e.segments[0]?.toUpperCase() === 'INBOX' && e.segments.length > 1 ? ['INBOX', ...e.segments.slice(1)] : e.segments;
      target = segs.map((s, i) => (i === 0 && s.toUpperCase() === 'INBOX' ? 'INBOX' : sanitizeSegment(s))).join(TARGET_SEPARATOR);
    }
    plans.push({ sourcePath: e.f.path, targetName: target, specialUse: null, copy: true });
  }
  // INBOX first, then role folders, then the rest by name: a stable order for folder rows.
  const rank = (p: FolderPlan) => (p.targetName === 'INBOX' ? 0 : p.specialUse && p.copy ? 1 : 2);
  return plans.sort((a, b) => rank(a) - rank(b) || a.targetName.localeCompare(b.targetName) || a.sourcePath.localeCompare(b.sourcePath));
}
