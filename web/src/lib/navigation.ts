// The panel's screens and who may open them: the sidebar is drawn from this list, and the app layout
// shows "not found" for a screen outside the viewer's role — one table for both, so a link the
// sidebar hides is also a URL that leads nowhere (the API refuses the data anyway).
import type { IconName } from '$lib/components/Icon.svelte';
import type { ViewerKind } from '$lib/session';

export interface NavItem {
  href: string;
  label: string;
  icon: IconName;
  kinds: ViewerKind[];
}

export const NAV_SECTIONS: { title: string; items: NavItem[] }[] = [
  {
    title: 'Overview',
    items: [
      { href: '/', label: 'Dashboard', icon: 'home', kinds: ['ADMIN', 'CUSTOMER'] },
      { href: '/', label: 'My mailbox', icon: 'mail', kinds: ['MAILBOX'] },
    ],
  },
  {
    title: 'Email',
    items: [
      { href: '/mailboxes', label: 'Mailboxes', icon: 'mail', kinds: ['ADMIN', 'CUSTOMER'] },
      { href: '/forwards', label: 'Forwards', icon: 'forward', kinds: ['ADMIN', 'CUSTOMER'] },
      { href: '/migrations', label: 'Migrations', icon: 'migrate', kinds: ['ADMIN', 'CUSTOMER', 'MAILBOX'] },
    ],
  },
  {
    title: 'Domains',
    items: [
      { href: '/domains', label: 'Domains', icon: 'globe', kinds: ['ADMIN', 'CUSTOMER'] },
      { href: '/security', label: 'Email security', icon: 'shield', kinds: ['ADMIN', 'CUSTOMER'] },
    ],
  },
  {
    title: 'Administration',
    items: [
      { href: '/admin/packages', label: 'Hosting packages', icon: 'package', kinds: ['ADMIN'] },
      { href: '/admin/customers', label: 'Customers', icon: 'building', kinds: ['ADMIN'] },
      { href: '/admin/users', label: 'Users', icon: 'users', kinds: ['ADMIN'] },
    ],
  },
  {
    title: 'Account',
    items: [
      { href: '/api-tokens', label: 'API tokens', icon: 'token', kinds: ['ADMIN', 'CUSTOMER'] },
      { href: '/audit', label: 'Audit log', icon: 'log', kinds: ['ADMIN', 'CUSTOMER'] },
      { href: '/audit', label: 'Activity', icon: 'log', kinds: ['MAILBOX'] },
      { href: '/account', label: 'Account security', icon: 'key', kinds: ['ADMIN', 'CUSTOMER', 'MAILBOX'] },
    ],
  },
];

/** The sidebar as one role sees it: sections without an item for it left out. */
export function navFor(kind: ViewerKind): typeof NAV_SECTIONS {
  return NAV_SECTIONS.map((s) => ({ ...s, items: s.items.filter((i) => i.kinds.includes(kind)) })).filter((s) => s.items.length);
}

const firstSegment = (pathname: string) => pathname.split('/')[1] ?? '';

// Who may open each area (a URL's first segment): the union over the nav items in it.
const AREA_KINDS = new Map<string, Set<ViewerKind>>();
for (const item of NAV_SECTIONS.flatMap((s) => s.items)) {
  const area = firstSegment(item.href);
  const kinds = AREA_KINDS.get(area) ?? new Set<ViewerKind>();
  for (const k of item.kinds) kinds.add(k);
  AREA_KINDS.set(area, kinds);
}

/**
 * Whether a screen is there for this role. An area no nav item names (an unknown URL) is left to the
 * router, whose catch-all route answers "not found" for every role.
 */
export function canOpen(pathname: string, kind: ViewerKind): boolean {
  const kinds = AREA_KINDS.get(firstSegment(pathname));
  return !kinds || kinds.has(kind);
}
