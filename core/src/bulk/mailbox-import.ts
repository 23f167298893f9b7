// The plan of a mailbox CSV import: every row checked with the same functions createMailbox uses
// (checkMailboxAddress, checkPassword, checkQuota — core/src/validation.ts) and against what exists,
// and the hosting-package limits counted over the whole file. Pure: the API loads what exists and
// calls this for the dry run and again, in the starting transaction, for the real run.
//
// Idempotent by address: a row whose mailbox exists is UNCHANGED when every column it fills matches,
// UPDATE when quota, status or name differ; an existing mailbox's password is never read or changed
// (the password column only counts for rows that create).
import { randomBytes } from 'node:crypto';
import type { FieldError } from '../errors.js';
import { FieldErrors } from '../errors.js';
import { checkMailboxAddress, checkPassword, checkQuota, checkText, displayAddress, LIMITS } from '../validation.js';
import type { CsvTable } from './csv.js';

export const MAILBOX_COLUMNS = { required: ['address'], optional: ['password', 'quota', 'status', 'name'] } as const;
export const GENERATE = 'generate';

export type RowOutcome = 'CREATE' | 'UPDATE' | 'UNCHANGED' | 'ERROR';
type Status = 'ACTIVE' | 'DISABLED';

export interface ImportDomain {
  id: string;
  name: string;
  nameUnicode: string;
  customerId: string;
  isAlias: boolean;
}
export interface ExistingMailbox {
  id: string;
  address: string;
  quotaMb: number;
  status: Status;
  name: string | null;
  deleting: boolean;
  /** Deleted in its package's grace period: the address is reserved until then (restoreMailbox). */
  purgeAt: Date | null;
}
export interface PackageRoom {
  maxMailboxes: number;
  totalQuotaMb: number;
  /** The customer's mailboxes and the sum of their quotas now. */
  mailboxes: number;
  quotaMb: number;
}

export interface MailboxRowPlan {
  row: number;
  address: string;
  outcome: RowOutcome;
  errors: FieldError[];
  asciiAddress?: string;
  localPart?: string;
  domainId?: string;
  customerId?: string;
  mailboxId?: string;
  quotaMb?: number;
  status?: Status;
  name?: string | null;
  /** CREATE rows only: the password to hash (typed, or generated when the cell says "generate"). */
  password?: string;
  generated?: boolean;
  /** UPDATE rows: what changes. */
  changes?: { quotaMb?: number; status?: Status; name?: string | null };
}

export interface MailboxImportWorld {
  domains: Map<string, ImportDomain>;
  existing: Map<string, ExistingMailbox>;
  forwardSources: Set<string>;
  packages: Map<string, PackageRoom>;
  defaultQuotaMb: number;
  minPasswordScore: number;
  /** The strength check's answers by (password, guessable inputs): zxcvbn costs milliseconds per
   *  password, so a caller that plans the same file twice (outside, then inside its transaction)
   *  checks each password once. */
  passwordChecks?: Map<string, FieldError[]>;
}

/** A password for a "generate" cell: 20 random characters from 120 bits. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}

/** Addresses (A-label form) and domains a table's rows name, so the caller loads only those. */
export function namedInMailboxTable(table: CsvTable): { addresses: string[]; domains: string[] } {
  const addresses = new Set<string>();
  const domains = new Set<string>();
  for (const r of table.rows) {
    const { localPart, domain } = splitAddress(r.cells.address ?? '');
    if (localPart && domain) {
      addresses.add(`${localPart}@${domain}`);
      domains.add(domain);
    }
  }
  return { addresses: [...addresses], domains: [...domains] };
}

function splitAddress(cell: string) {
  const v = cell.trim();
  const at = v.lastIndexOf('@');
  return checkMailboxAddress(new FieldErrors(), { username: at > 0 ? v.slice(0, at) : '', domain: at > 0 ? v.slice(at + 1) : '' });
}

export function planMailboxImport(table: CsvTable, world: MailboxImportWorld): MailboxRowPlan[] {
  const seen = new Map<string, number>();
  const used = new Map<string, { mailboxes: number; quotaMb: number }>();
  return table.rows.map(({ line, cells }) => {
    const errors = new FieldErrors();
    const typed = (cells.address ?? '').trim();
    const at = typed.lastIndexOf('@');
    const plan: MailboxRowPlan = { row: line, address: typed.slice(0, LIMITS.address), outcome: 'ERROR', errors: errors.errors };
    if (at <= 0) {
      errors.add('address', typed ? 'INVALID' : 'REQUIRED', typed ? 'Use name@domain' : 'The address is required');
    } else checkMailboxAddress(errors, { username: typed.slice(0, at), domain: typed.slice(at + 1) }, { username: 'address', domain: 'address' });
    const quotaCell = (cells.quota ?? '').trim();
    let quotaMb: number | undefined;
    if (quotaCell) {
      quotaMb = /^\d{1,9}$/.test(quotaCell) ? Number(quotaCell) : NaN;
      checkQuota(errors, 'quota', quotaMb);
    }
    const statusCell = (cells.status ?? '').trim().toUpperCase();
    let status: Status | undefined;
    if (statusCell === 'ACTIVE' || statusCell === 'DISABLED') status = statusCell;
    else if (statusCell) errors.add('status', 'INVALID', 'Status is active or disabled');
    const nameCell = cells.name;
    const name = nameCell === undefined ? undefined : nameCell.trim() || null;
    if (name) checkText(errors, 'name', name, { max: LIMITS.name, singleLine: true, label: 'Name' });
    if (errors.errors.length) return plan;

    const { localPart, domain: ascii } = splitAddress(typed);
    const address = `${localPart}@${ascii}`;
    plan.asciiAddress = address;
    plan.address = displayAddress(address);
    plan.localPart = localPart!;
    const first = seen.get(address);
    if (first !== undefined) {
      errors.add('address', 'DUPLICATE', `${plan.address} is already on line ${first}`);
      return plan;
    }
    seen.set(address, line);
    const domain = world.domains.get(ascii!);
    if (!domain) {
      errors.add('address', 'NOT_FOUND', `Domain ${displayAddress(`x@${ascii}`).slice(2)} not found`);
      return plan;
    }
    if (domain.isAlias) {
      errors.add('address', 'ALIAS_DOMAIN', `${domain.nameUnicode} is an alias domain: its addresses are those of the domain it points to`);
      return plan;
    }
    plan.domainId = domain.id;
    plan.customerId = domain.customerId;
    const room = world.packages.get(domain.customerId)!;
    const taken = used.get(domain.customerId) ?? { mailboxes: 0, quotaMb: 0 };
    const existing = world.existing.get(address);

    if (existing) {
      if (existing.deleting) {
        errors.add('address', 'TAKEN', `${plan.address} is still being deleted; try again shortly`);
        return plan;
      }
      if (existing.purgeAt) {
        errors.add('address', 'TAKEN', `${plan.address} is deleted but reserved until ${existing.purgeAt.toISOString().slice(0, 10)}: restore it, or wait for the purge`);
        return plan;
      }
      plan.mailboxId = existing.id;
      const changes: NonNullable<MailboxRowPlan['changes']> = {};
      if (quotaMb !== undefined && quotaMb !== existing.quotaMb) changes.quotaMb = quotaMb;
      if (status && status !== existing.status) changes.status = status;
      if (name !== undefined && name !== existing.name) changes.name = name;
      if (changes.quotaMb !== undefined && !fitsQuota(errors, room, taken, changes.quotaMb - existing.quotaMb, changes.quotaMb)) return plan;
      if (changes.quotaMb !== undefined) taken.quotaMb += changes.quotaMb - existing.quotaMb;
      used.set(domain.customerId, taken);
      plan.quotaMb = changes.quotaMb ?? existing.quotaMb;
      plan.status = changes.status ?? existing.status;
      plan.name = changes.name !== undefined ? changes.name : existing.name;
      plan.outcome = Object.keys(changes).length ? 'UPDATE' : 'UNCHANGED';
      if (plan.outcome === 'UPDATE') plan.changes = changes;
      return plan;
    }
    if (world.forwardSources.has(address)) {
      errors.add('address', 'TAKEN', `${plan.address} is already used by a forward`);
      return plan;
    }
    const passwordCell = cells.password ?? '';
    const generated = passwordCell.trim().toLowerCase() === GENERATE;
    if (!passwordCell) errors.add('password', 'REQUIRED', `A new mailbox needs a password, or "${GENERATE}"`);
    else if (!generated) {
      const userInputs = [localPart!, ascii!, domain.nameUnicode];
      const key = JSON.stringify([passwordCell, userInputs]);
      let found = world.passwordChecks?.get(key);
      if (!found) {
        const checked = new FieldErrors();
        checkPassword(checked, 'password', passwordCell, { minScore: world.minPasswordScore, userInputs });
        found = checked.errors;
        world.passwordChecks?.set(key, found);
      }
      errors.errors.push(...found);
    }
    const quota = quotaMb ?? world.defaultQuotaMb;
    if (room.maxMailboxes > 0 && room.mailboxes + taken.mailboxes + 1 > room.maxMailboxes)
      errors.add('address', 'LIMIT_EXCEEDED', `Your package allows ${room.maxMailboxes} mailboxes; with the rows above this one, the file would create more`);
    if (!errors.errors.length) fitsQuota(errors, room, taken, quota, quota);
    if (errors.errors.length) return plan;
    taken.mailboxes += 1;
    taken.quotaMb += quota;
    used.set(domain.customerId, taken);
    Object.assign(plan, { outcome: 'CREATE', quotaMb: quota, status: status ?? 'ACTIVE', name: name ?? null, password: generated ? generatePassword() : passwordCell, generated });
    return plan;
  });
}

/** The package's total quota over the whole file (createMailbox's checkQuotaBudget, counted with the rows above). */
function fitsQuota(errors: FieldErrors, room: PackageRoom, taken: { quotaMb: number }, adding: number, quotaMb: number): boolean {
  if (room.totalQuotaMb === 0) return true;
  if (quotaMb === 0) {
    errors.add('quota', 'UNLIMITED_NOT_ALLOWED', `Your package has a total of ${room.totalQuotaMb} MB; give the mailbox a limit`);
    return false;
  }
  const free = room.totalQuotaMb - room.quotaMb - taken.quotaMb;
  if (adding > free) {
    errors.add('quota', 'LIMIT_EXCEEDED', `Only ${Math.max(0, free)} MB of the package's ${room.totalQuotaMb} MB are left after the rows above`);
    return false;
  }
  return true;
}

/** What may be stored and shown of a plan row: never a password. */
export function publicRow(p: MailboxRowPlan) {
  return { row: p.row, address: p.address, outcome: p.outcome, errors: p.errors, generated: p.generated ?? false };
}
