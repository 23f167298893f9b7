// How Postfix routes an address through the panel's forwards, as a graph — pure, no I/O, so the API's
// validation, the admin's loop report and the unit tests share one definition.
//
// Nodes are forward sources (`local@domain`, or `*@domain` for a catch-all). Mail to an address is
// handled by the first of these that exists, exactly the order Postfix's virtual_alias_maps lookups
// take with pgsql-refused-aliases.cf, then pgsql-self.cf, then pgsql-aliases.cf:
//   0. a refused address (a disabled mailbox, any address of a disabled domain, or of an alias
//      domain whose target is disabled: bounced, ends); an address of an alias domain is then read
//      as the same local part at its target (alias.example → example.com: one step, no chains),
//   1. a forward whose source is the address,       2. a mailbox with that address (delivered: ends),
//   3. the same three without the `+tag` extension (recipient_delimiter "+" folds x+tag@d to x@d),
//   4. the domain's catch-all `*@domain`,           5. nothing: it ends here (an outside address, or
//      an unknown one that Postfix refuses).
// A destination equal to its own source ends too: Postfix lets an address expand into itself once.
// The database function mail_alias_route (migration 20261203010000_forward_loops) is the same rule in
// SQL for the daemons; a change here must be made there too (e2e/mailstack/forward-loops.test.ts
// checks that both refuse and bounce the same cases).

export interface RoutingTable {
  /** Forwards Postfix sees (domain enabled): source → destinations, all lower-case. */
  forwards: ReadonlyMap<string, readonly string[]>;
  /** Addresses Postfix delivers to a mailbox (the mail_users view: active, domain enabled, not being deleted). */
  mailboxes: ReadonlySet<string>;
  /** Keys of the mail_refused view: disabled mailboxes' addresses and disabled domains' names. Mail
   *  to them is bounced (5.2.1), so it ends there and never falls to a catch-all. */
  refused: ReadonlySet<string>;
  /** Alias domains Postfix rewrites (alias and target enabled): alias name → target name. Optional:
   *  a table without alias domains need not list them. */
  aliasDomains?: ReadonlyMap<string, string>;
}

/** `x@alias.example` → `x@example.com` when the domain is an alias domain, else the address itself. */
export function throughAliasDomain(table: RoutingTable, address: string): string {
  const at = address.lastIndexOf('@');
  const target = table.aliasDomains?.get(address.slice(at + 1));
  return target ? `${address.slice(0, at)}@${target}` : address;
}

function isRefused(table: RoutingTable, address: string, withDomain: boolean): boolean {
  return table.refused.has(address) || (withDomain && table.refused.has(address.slice(address.lastIndexOf('@') + 1)));
}

/** `x+tag@d` → `x@d`; null when the address has no extension. A leading `+` is not an extension. */
export function withoutExtension(address: string): string | null {
  const at = address.lastIndexOf('@');
  const plus = address.indexOf('+');
  return plus > 0 && plus < at ? address.slice(0, plus) + address.slice(at) : null;
}

/** The forward source that takes mail sent to `address`, or null when the mail ends there. */
export function routeOf(table: RoutingTable, written: string): string | null {
  if (isRefused(table, written, true)) return null;
  const address = throughAliasDomain(table, written);
  if (address !== written && isRefused(table, address, true)) return null;
  if (table.forwards.has(address)) return address;
  if (table.mailboxes.has(address)) return null;
  const bare = withoutExtension(address);
  if (bare) {
    if (isRefused(table, bare, false)) return null;
    if (table.forwards.has(bare)) return bare;
    if (table.mailboxes.has(bare)) return null;
  }
  const catchAll = `*${address.slice(address.lastIndexOf('@'))}`;
  return table.forwards.has(catchAll) ? catchAll : null;
}

/** One hop of a loop: mail for `source` is sent to `destination`, which `source`'s successor takes. */
export interface Hop {
  source: string;
  destination: string;
}

function hopsFrom(table: RoutingTable, source: string): { destination: string; next: string }[] {
  const out: { destination: string; next: string }[] = [];
  for (const destination of table.forwards.get(source) ?? []) {
    if (destination === source) continue;
    const next = routeOf(table, destination);
    if (next) out.push({ destination, next });
  }
  return out;
}

/** The shortest loop through `source` (breadth-first), as its hops from `source` back to it; null when none. */
export function loopThrough(table: RoutingTable, source: string): Hop[] | null {
  if (!table.forwards.has(source)) return null;
  const cameFrom = new Map<string, Hop>();
  let frontier = [source];
  while (frontier.length > 0) {
    const nextFrontier: string[] = [];
    for (const node of frontier) {
      for (const { destination, next } of hopsFrom(table, node)) {
        if (next === source) {
          const hops: Hop[] = [{ source: node, destination }];
          for (let at = node; at !== source; ) {
            const hop = cameFrom.get(at)!;
            hops.unshift(hop);
            at = hop.source;
          }
          return hops;
        }
        if (!cameFrom.has(next)) {
          cameFrom.set(next, { source: node, destination });
          nextFrontier.push(next);
        }
      }
    }
    frontier = nextFrontier;
  }
  return null;
}

/**
 * Every loop in the table, one per group of forwards that route into each other (a strongly connected
 * component), each given as its shortest loop through its alphabetically first source. Iterative
 * Tarjan: linear in forwards + destinations, no recursion depth limit (50,000 forwards in a chain is fine).
 */
export function findLoops(table: RoutingTable): Hop[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const loops: Hop[][] = [];
  let counter = 0;
  for (const root of table.forwards.keys()) {
    if (index.has(root)) continue;
    const work: { node: string; succ: string[]; i: number }[] = [];
    const enter = (node: string) => {
      index.set(node, counter);
      low.set(node, counter++);
      stack.push(node);
      onStack.add(node);
      work.push({ node, succ: hopsFrom(table, node).map((h) => h.next), i: 0 });
    };
    enter(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.succ.length) {
        const next = frame.succ[frame.i++]!;
        if (!index.has(next)) enter(next);
        else if (onStack.has(next)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(next)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) !== index.get(frame.node)) continue;
      const component: string[] = [];
      for (let member = ''; member !== frame.node; ) {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      }
      // A lone forward loops only through itself (x → x+tag); the BFS is not run for the others,
      // which keeps a 50,000-forward chain linear.
      const alone = component.length === 1 && !frame.succ.includes(frame.node);
      if (!alone) loops.push(loopThrough(table, component.sort()[0]!)!);
    }
  }
  return loops.sort((a, b) => (a[0]!.source < b[0]!.source ? -1 : 1));
}

/**
 * A loop as a reader follows the mail: `a@x → b@y → a@x`. When a destination is taken by another
 * source (its `+tag` folded away, or a catch-all), that source follows it: `x@d → x+tag@d → x@d`,
 * `*@a → m@b → *@b → n@a → *@a`. Addresses `visible` says no to are shown as `…` (runs of them as
 * one), except a destination written in a visible forward — its author typed it.
 */
export function describeLoop(hops: readonly Hop[], visible: (address: string) => boolean = () => true): string {
  const words: string[] = [];
  const say = (word: string, show: boolean) => {
    const text = show ? word : '…';
    if (!(text === '…' && words.at(-1) === '…')) words.push(text);
  };
  say(hops[0]!.source, visible(hops[0]!.source));
  hops.forEach((hop, i) => {
    const next = (hops[i + 1] ?? hops[0]!).source;
    say(hop.destination, visible(hop.destination) || visible(hop.source));
    if (next !== hop.destination) say(next, visible(next));
  });
  return words.join(' → ');
}
