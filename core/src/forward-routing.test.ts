import { describe, expect, it } from 'vitest';
import { describeLoop, findLoops, loopThrough, routeOf, withoutExtension, type RoutingTable } from './forward-routing.js';

function table(forwards: Record<string, string[]>, mailboxes: string[] = [], refused: string[] = []): RoutingTable {
  return { forwards: new Map(Object.entries(forwards)), mailboxes: new Set(mailboxes), refused: new Set(refused) };
}
const loopText = (t: RoutingTable, source: string) => {
  const hops = loopThrough(t, source);
  return hops && describeLoop(hops);
};

describe('routeOf: which forward takes mail for an address (Postfix lookup order)', () => {
  const t = table({ 'a@x.test': ['out@far.test'], '*@x.test': ['m@x.test'], 'm@y.test': ['z@far.test'] }, ['m@x.test', 'm@y.test', 'n@x.test']);
  it('exact forward, then mailbox, then the address without +tag, then the catch-all', () => {
    expect(routeOf(t, 'a@x.test')).toBe('a@x.test');
    expect(routeOf(t, 'n@x.test')).toBeNull();
    expect(routeOf(t, 'a+news@x.test')).toBe('a@x.test');
    expect(routeOf(t, 'n+news@x.test')).toBeNull();
    expect(routeOf(t, 'nobody@x.test')).toBe('*@x.test');
    expect(routeOf(t, 'nobody+tag@x.test')).toBe('*@x.test');
    expect(routeOf(t, 'out@far.test')).toBeNull();
  });
  it('a forward with a mailbox\'s own address takes precedence over the mailbox (as pgsql-self.cf does)', () => {
    expect(routeOf(t, 'm@y.test')).toBe('m@y.test');
  });
  it('the extension is the part after the first +; a leading + is not one', () => {
    expect(withoutExtension('a+b+c@x.test')).toBe('a@x.test');
    expect(withoutExtension('+a@x.test')).toBeNull();
    expect(withoutExtension('a@x.test')).toBeNull();
  });
});

describe('loopThrough: the loops Postfix would defer forever', () => {
  it('direct: a → b → a', () => {
    expect(loopText(table({ 'a@x.test': ['b@x.test'], 'b@x.test': ['a@x.test'] }), 'a@x.test')).toBe('a@x.test → b@x.test → a@x.test');
  });
  it('multi-step, across domains, the shortest way back among several destinations', () => {
    const t = table({
      'a@x.test': ['keep@x.test', 'b@y.test', 'c@z.test'],
      'b@y.test': ['c@z.test'],
      'c@z.test': ['a@x.test', 'out@far.test'],
    }, ['keep@x.test']);
    expect(loopText(t, 'a@x.test')).toBe('a@x.test → c@z.test → a@x.test');
    expect(loopText(t, 'b@y.test')).toBe('b@y.test → c@z.test → a@x.test → b@y.test');
  });
  it('through the recipient delimiter: x → x+tag folds back to x', () => {
    expect(loopText(table({ 'x@d.test': ['x+tag@d.test'] }), 'x@d.test')).toBe('x@d.test → x+tag@d.test → x@d.test');
    expect(loopText(table({ 'x@d.test': ['y+1@d.test'], 'y@d.test': ['x+2@d.test'] }), 'x@d.test')).toBe(
      'x@d.test → y+1@d.test → y@d.test → x+2@d.test → x@d.test',
    );
  });
  it('+tag to a mailbox is delivered, not a loop', () => {
    expect(loopThrough(table({ 'x@d.test': ['m+tag@d.test'], 'm@d.test': ['x@d.test'] }, []), 'x@d.test')).not.toBeNull();
    expect(loopThrough(table({ 'x@d.test': ['m+tag@d.test'] }, ['m@d.test']), 'x@d.test')).toBeNull();
  });
  it('through catch-alls: two catch-alls pointing at unknown addresses of each other\'s domain', () => {
    const t = table({ '*@a.test': ['gone@b.test'], '*@b.test': ['gone@a.test'] }, ['real@a.test']);
    expect(loopText(t, '*@a.test')).toBe('*@a.test → gone@b.test → *@b.test → gone@a.test → *@a.test');
    // A catch-all at an unknown address of its own domain catches its own mail.
    expect(loopText(table({ '*@a.test': ['nobody@a.test'] }), '*@a.test')).toBe('*@a.test → nobody@a.test → *@a.test');
    // ...but not when that address is a mailbox or a forward.
    expect(loopThrough(table({ '*@a.test': ['real@a.test'] }, ['real@a.test']), '*@a.test')).toBeNull();
    expect(loopThrough(table({ '*@a.test': ['f@a.test'], 'f@a.test': ['out@far.test'] }), '*@a.test')).toBeNull();
  });
  it('a deleted mailbox (gone from the table) turns its address into a catch-all target', () => {
    const forwards = { '*@a.test': ['f@b.test'], 'f@b.test': ['m@a.test'] };
    expect(loopThrough(table(forwards, ['m@a.test']), 'f@b.test')).toBeNull();
    expect(loopText(table(forwards, []), 'f@b.test')).toBe('f@b.test → m@a.test → *@a.test → f@b.test');
  });
  it('a disabled mailbox or domain (refused: bounced) ends the route, even with its +tag, before any catch-all or forward', () => {
    const forwards = { '*@a.test': ['f@b.test'], 'f@b.test': ['m@a.test', 'm+tag@a.test'] };
    expect(loopThrough(table(forwards, [], ['m@a.test']), 'f@b.test')).toBeNull();
    expect(routeOf(table({ 'm@a.test': ['x@far.test'] }, [], ['m@a.test']), 'm@a.test')).toBeNull();
    // every address of a disabled domain
    expect(loopThrough(table({ '*@a.test': ['f@b.test'], 'f@b.test': ['anyone@a.test'] }, [], ['a.test']), 'f@b.test')).toBeNull();
    expect(loopText(table({ '*@a.test': ['f@b.test'], 'f@b.test': ['anyone@a.test'] }, [], ['c.test']), 'f@b.test')).toBe(
      'f@b.test → anyone@a.test → *@a.test → f@b.test',
    );
  });
  it('an address expanding into itself ends there (Postfix allows it once); outside and unknown addresses end', () => {
    expect(loopThrough(table({ 'a@x.test': ['a@x.test', 'b@x.test'], 'b@x.test': ['out@far.test'] }), 'a@x.test')).toBeNull();
    expect(loopThrough(table({ 'a@x.test': ['nobody@x.test'] }), 'a@x.test')).toBeNull();
  });
  it('a chain that runs into a loop elsewhere is not a loop through its start', () => {
    const t = table({ 'a@x.test': ['b@x.test'], 'b@x.test': ['c@x.test'], 'c@x.test': ['b@x.test'] });
    expect(loopThrough(t, 'a@x.test')).toBeNull();
    expect(loopText(t, 'b@x.test')).toBe('b@x.test → c@x.test → b@x.test');
  });
});

describe('alias domains: x@alias.test is read as x@target.test', () => {
  const withAlias = (t: RoutingTable, aliases: Record<string, string> = { 'alias.test': 'target.test' }): RoutingTable => ({ ...t, aliasDomains: new Map(Object.entries(aliases)) });
  it('routes an alias address to what takes it at the target: forward, +tag, catch-all, mailbox', () => {
    const t = withAlias(table({ 'f@target.test': ['out@far.test'], '*@target.test': ['m@target.test'] }, ['m@target.test']));
    expect(routeOf(t, 'f@alias.test')).toBe('f@target.test');
    expect(routeOf(t, 'f+tag@alias.test')).toBe('f@target.test');
    expect(routeOf(t, 'nobody@alias.test')).toBe('*@target.test');
    expect(routeOf(t, 'm@alias.test')).toBeNull();
  });
  it('a loop through an alias domain is a loop; a refused alias (its target disabled) ends the route', () => {
    const forwards = { 'a@target.test': ['b@alias.test'], 'b@target.test': ['a@target.test'] };
    expect(loopText(withAlias(table(forwards)), 'a@target.test')).toBe('a@target.test → b@alias.test → b@target.test → a@target.test');
    expect(loopThrough(table(forwards), 'a@target.test')).toBeNull();
    expect(loopThrough(withAlias(table(forwards, [], ['alias.test'])), 'a@target.test')).toBeNull();
    expect(findLoops(withAlias(table({ '*@target.test': ['x@alias.test'] }))).map((l) => describeLoop(l))).toEqual(['*@target.test → x@alias.test → *@target.test']);
  });
});

describe('findLoops: every existing loop, once', () => {
  it('one loop per group of forwards that route into each other, sorted, through its first source', () => {
    const t = table({
      'b@x.test': ['a@x.test'],
      'a@x.test': ['b@x.test', 'c@x.test'],
      'c@x.test': ['a@x.test'],
      'lead@x.test': ['a@x.test'],
      'x@d.test': ['x+tag@d.test'],
      'ok@x.test': ['m@x.test'],
    }, ['m@x.test']);
    expect(findLoops(t).map((l) => describeLoop(l))).toEqual(['a@x.test → b@x.test → a@x.test', 'x@d.test → x+tag@d.test → x@d.test']);
  });
  it('none in a table without loops', () => {
    expect(findLoops(table({ 'a@x.test': ['b@x.test'], 'b@x.test': ['m@x.test'] }, ['m@x.test']))).toEqual([]);
  });
  it('50,000 forwards: a chain has no loop; closing it makes one loop of 50,000 hops', () => {
    const n = 50_000;
    const forwards: Record<string, string[]> = {};
    for (let i = 0; i < n; i++) forwards[`f${i}@d${i % 100}.test`] = [`f${i + 1}@d${(i + 1) % 100}.test`, `copy${i}@far.test`];
    const chain = table(forwards);
    expect(findLoops(chain)).toEqual([]);
    expect(loopThrough(chain, 'f0@d0.test')).toBeNull();
    forwards[`f${n - 1}@d${(n - 1) % 100}.test`] = ['f0@d0.test'];
    const ring = table(forwards);
    const loops = findLoops(ring);
    expect(loops).toHaveLength(1);
    expect(loops[0]).toHaveLength(n);
    expect(loopThrough(ring, 'f123@d23.test')).toHaveLength(n);
  });
});

describe('describeLoop: what a tenant may see of a loop through other tenants', () => {
  it('hides other tenants\' addresses except the destination its own forward names', () => {
    const t = table({ 'a@mine.test': ['b@other.test'], 'b@other.test': ['c@third.test'], 'c@third.test': ['a@mine.test'] });
    const mine = (address: string) => address.endsWith('@mine.test');
    expect(describeLoop(loopThrough(t, 'a@mine.test')!, mine)).toBe('a@mine.test → b@other.test → … → a@mine.test');
    expect(describeLoop(loopThrough(t, 'a@mine.test')!)).toBe('a@mine.test → b@other.test → c@third.test → a@mine.test');
  });
});
