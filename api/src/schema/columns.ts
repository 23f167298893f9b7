// What every row of the listed models carries, whatever a query asks (never a secret: no password
// hash). Fields that read only these are plain fields. A field with its own `select` is wrapped by
// the prisma plugin, which looks that field's selection up again for every row of a page — the
// largest per-row cost of a listing once its SQL is one statement — so what a list row always shows
// is read with the row instead. Everything else is still read only when a query's fields ask for it.
// Its own module: the types' definitions read these as they are built, whatever imports whom.

export const DOMAIN_COLUMNS = { id: true, name: true, nameUnicode: true, enabled: true, createdAt: true } as const;

export const CUSTOMER_COLUMNS = { id: true, name: true, email: true, createdAt: true } as const;

/** A mailbox with its domain, customer, the package limits shown beside it, and its autoresponder's window. */
export const MAILBOX_COLUMNS = {
  id: true, localPart: true, address: true, quotaMb: true, status: true, provisioning: true, provisioningError: true,
  quotaUsedBytes: true, quotaMessages: true, quotaUpdatedAt: true, quotaWarnedPercent: true, createdAt: true, updatedAt: true,
  deletedAt: true, purgeAt: true, language: true,
  domain: { select: { ...DOMAIN_COLUMNS, customer: { select: { ...CUSTOMER_COLUMNS, package: { select: { maxMessageSizeMb: true, deleteGraceDays: true } } } } } },
  autoresponder: { select: { enabled: true, startsAt: true, endsAt: true } },
} as const;
