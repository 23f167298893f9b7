// Where a mailbox lives on disk: <MAIL_ROOT>/<domain>/<local_part>, its Maildir under it, and its
// Sieve scripts beside that. The same layout is what Dovecot's userdb query returns as home, so the
// worker and Dovecot always agree. Names are validated before they get here; the guard below still
// refuses any path that would leave the mail root.
import path from 'node:path';

export const DEFAULT_FOLDERS = ['Sent', 'Drafts', 'Trash', 'Junk'] as const;

export function mailboxHome(mailRoot: string, domain: string, localPart: string): string {
  const root = path.resolve(mailRoot);
  const home = path.resolve(root, domain, localPart);
  if (!home.startsWith(root + path.sep) || domain.includes('/') || localPart.includes('/') || /^\.\.?$/.test(localPart) || /^\.\.?$/.test(domain))
    throw new Error(`Refusing a mailbox path outside the mail root: ${domain}/${localPart}`);
  return home;
}

export function maildirPath(home: string): string {
  return path.join(home, 'Maildir');
}

/** Maildir++ stores folder "A/B" as ".A.B" (Dovecot's default layout with separator "/"). */
export function maildirFolderDir(home: string, folder: string): string {
  if (folder.toUpperCase() === 'INBOX') return maildirPath(home);
  return path.join(maildirPath(home), `.${folder.split('/').join('.')}`);
}
