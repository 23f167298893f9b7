// Display helpers: dates in the viewer's locale, sizes, and datetime-local <-> ISO conversion.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export function formatDateTime(iso: string | null | undefined): string {
  return iso ? dateTime.format(new Date(iso)) : '—';
}

export function formatDate(iso: string | null | undefined): string {
  return iso ? dateOnly.format(new Date(iso)) : '—';
}

export function formatMb(mb: number): string {
  if (mb >= 1024 * 10) return `${(mb / 1024).toFixed(1).replace(/\.0$/, '')} GB`;
  return `${mb % 1 === 0 ? mb : mb.toFixed(mb < 10 ? 2 : 1)} MB`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}

/** "1 message", "2 messages", "1,204 folders": a count with its noun in the right number. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? singular : plural}`;
}

/** "mailboxes" → "mailbox", "customers" → "customer": the regular plurals the panel's nouns use. */
export function singular(plural: string): string {
  return plural.replace(/(x|ss)es$/, '$1').replace(/s$/, '');
}

/** Share of a limit used, in whole percent capped at 100; null where there is no limit (0). */
export function usagePercent(used: number, max: number): number | null {
  return max > 0 ? Math.min(100, Math.round((used / max) * 100)) : null;
}

export function limit(n: number): string {
  return n === 0 ? 'unlimited' : n.toLocaleString();
}

/** <input type="datetime-local"> value (local time) → ISO string, or null when empty. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** ISO string → <input type="datetime-local"> value in local time. */
export function isoToLocalInput(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A rough password strength estimate for the hint under password inputs (the API only enforces length). */
export function passwordStrength(pw: string): { score: 0 | 1 | 2 | 3 | 4; label: string } {
  if (!pw) return { score: 0, label: '' };
  let classes = 0;
  if (/[a-z]/.test(pw)) classes++;
  if (/[A-Z]/.test(pw)) classes++;
  if (/\d/.test(pw)) classes++;
  if (/[^A-Za-z0-9]/.test(pw)) classes++;
  const unique = new Set(pw).size;
  let score = 0;
  if (pw.length >= 8) score++;
  if (pw.length >= 12) score++;
  if (classes >= 3) score++;
  if (pw.length >= 16 || (pw.length >= 12 && classes === 4)) score++;
  if (unique < pw.length / 2) score = Math.max(1, score - 1);
  if (pw.length < 8) score = 0;
  const s = Math.min(4, score) as 0 | 1 | 2 | 3 | 4;
  const labels = ['Too short (at least 8 characters)', 'Weak', 'Fair', 'Good', 'Strong'];
  return { score: s, label: labels[s]! };
}

export function generatePassword(length = 16): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_!#%+';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}
