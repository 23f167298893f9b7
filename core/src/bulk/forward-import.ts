// The plan of a forward CSV import: source and destinations checked with createForward's own
// functions (checkForwardSource, checkDestinations), against what exists, and the package's
// maxForwards counted over the whole file. Pure; forwarding loops need the routing graph with the
// file's writes in it, so the API checks them in the transaction that applies the plan.
// Idempotent by source: same destinations (in any order) → UNCHANGED, others → UPDATE (replaced).
import type { FieldError } from '../errors.js';
import { FieldErrors } from '../errors.js';
import { checkDestinations, checkForwardSource, displayAddress, LIMITS } from '../validation.js';
import type { CsvTable } from './csv.js';
import type { ImportDomain, RowOutcome } from './mailbox-import.js';

export const FORWARD_COLUMNS = { required: ['source', 'destinations'], optional: [] } as const;

export interface ForwardRowPlan {
  row: number;
  address: string;
  outcome: RowOutcome;
  errors: FieldError[];
  source?: string;
  localPart?: string;
  domainId?: string;
  customerId?: string;
  forwardId?: string;
  destinations?: string[];
}

export interface ForwardImportWorld {
  domains: Map<string, ImportDomain>;
  existing: Map<string, { id: string; destinations: string[] }>;
  mailboxes: Set<string>;
  /** Per customer: maxForwards (0 = unlimited) and how many forwards it has now. */
  packages: Map<string, { maxForwards: number; forwards: number }>;
}

export function namedInForwardTable(table: CsvTable): { sources: string[]; domains: string[] } {
  const sources = new Set<string>();
  const domains = new Set<string>();
  for (const r of table.rows) {
    const s = checkForwardSource(new FieldErrors(), 'source', r.cells.source ?? '');
    if (s) {
      sources.add(s.source);
      domains.add(s.domain);
    }
  }
  return { sources: [...sources], domains: [...domains] };
}

export function planForwardImport(table: CsvTable, world: ForwardImportWorld): ForwardRowPlan[] {
  const seen = new Map<string, number>();
  const added = new Map<string, number>();
  return table.rows.map(({ line, cells }) => {
    const errors = new FieldErrors();
    const typed = (cells.source ?? '').trim();
    const plan: ForwardRowPlan = { row: line, address: typed.slice(0, LIMITS.address), outcome: 'ERROR', errors: errors.errors };
    const parsed = typed ? checkForwardSource(errors, 'source', typed) : (errors.add('source', 'REQUIRED', 'The source is required'), null);
    const destinations = checkDestinations(errors, 'destinations', cells.destinations ?? '', parsed?.source ?? '');
    if (!parsed || errors.errors.length) return plan;
    plan.address = displayAddress(parsed.source);
    const first = seen.get(parsed.source);
    if (first !== undefined) {
      errors.add('source', 'DUPLICATE', `${plan.address} is already on line ${first}`);
      return plan;
    }
    seen.set(parsed.source, line);
    const domain = world.domains.get(parsed.domain);
    if (!domain) errors.add('source', 'NOT_FOUND', `Domain ${displayAddress(`x@${parsed.domain}`).slice(2)} not found`);
    else if (domain.isAlias) errors.add('source', 'ALIAS_DOMAIN', `${domain.nameUnicode} is an alias domain: its addresses are those of the domain it points to`);
    else if (world.mailboxes.has(parsed.source)) errors.add('source', 'TAKEN', `${plan.address} already exists`);
    if (!domain || errors.errors.length) return plan;
    Object.assign(plan, { source: parsed.source, localPart: parsed.localPart, domainId: domain.id, customerId: domain.customerId, destinations });
    const existing = world.existing.get(parsed.source);
    if (existing) {
      plan.forwardId = existing.id;
      const same = existing.destinations.length === destinations.length && destinations.every((d) => existing.destinations.includes(d));
      plan.outcome = same ? 'UNCHANGED' : 'UPDATE';
      return plan;
    }
    const room = world.packages.get(domain.customerId)!;
    const n = (added.get(domain.customerId) ?? 0) + 1;
    if (room.maxForwards > 0 && room.forwards + n > room.maxForwards) {
      errors.add('source', 'LIMIT_EXCEEDED', `Your package allows ${room.maxForwards} forwards; with the rows above this one, the file would create more`);
      return plan;
    }
    added.set(domain.customerId, n);
    plan.outcome = 'CREATE';
    return plan;
  });
}
