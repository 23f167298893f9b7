// A list screen's state — search, filters, sort order and page — kept in the URL, so a reload, the
// back button and a shared link show the same rows. Paging is cursor-based and always forward
// (`first` + `after`): the URL keeps the cursor each page started after (`after`, repeated), so
// "Previous" returns to exactly the rows seen before. Any change of search, filter or order starts
// again from the first page. Typing in the search box replaces the history entry; everything else
// adds one, so "back" undoes a filter or a page turn.
import { untrack } from 'svelte';
import { goto, replaceState } from '$app/navigation';
import { navigating, page } from '$app/state';

export type Direction = 'ASC' | 'DESC';
export interface SortOrder<F extends string> {
  field: F;
  direction: Direction;
}

export interface ListOptions<F extends string> {
  size?: number;
  /** The URL parameters that are filters of this list (e.g. 'domain', 'status'). */
  filters?: readonly string[];
  /** The order when the URL names none; lists without sort headers leave it out. */
  sort?: SortOrder<F>;
  /** Prefix of every parameter, for a second list on the same screen. */
  prefix?: string;
}

const SEARCH_DEBOUNCE_MS = 250;

export class ListState<F extends string = string> {
  readonly size: number;
  /** What the search box shows; the URL follows it after a short pause. */
  search = $state('');
  readonly #filters: readonly string[];
  readonly #defaultSort: SortOrder<F> | undefined;
  readonly #prefix: string;
  // The parameters of this screen's URL. While the app navigates away the page state already names
  // the next screen; the list keeps its own last parameters until it is gone.
  readonly #path = page.url.pathname;
  #last = new URLSearchParams(page.url.search);
  readonly #params = $derived.by(() => {
    if (page.url.pathname === this.#path) this.#last = new URLSearchParams(page.url.search);
    return this.#last;
  });
  // A string, so what reads it (the box's effect) re-runs when the search changes, not on every page turn.
  readonly #query = $derived(this.#params.get(this.#key('q')) ?? '');

  constructor(options: ListOptions<F> = {}) {
    this.size = options.size ?? 25;
    this.#filters = options.filters ?? [];
    this.#defaultSort = options.sort;
    this.#prefix = options.prefix ?? '';
    this.search = this.query;

    // The box follows the URL (back, a link); the URL follows the box after a pause.
    $effect(() => {
      const q = this.query;
      untrack(() => {
        if (this.search.trim() !== q) this.search = q;
      });
    });
    $effect(() => {
      const typed = this.search.trim();
      const t = setTimeout(() => {
        if (typed !== untrack(() => this.query)) this.#navigate({ q: typed || null }, true);
      }, SEARCH_DEBOUNCE_MS);
      return () => clearTimeout(t);
    });
  }

  #key(name: string): string {
    return this.#prefix + name;
  }

  /** The search as the URL has it (trimmed); what a query sends. */
  get query(): string {
    return this.#query;
  }

  filter(name: string): string {
    return this.#params.get(this.#key(name)) ?? '';
  }

  setFilter(name: string, value: string) {
    if (!this.#filters.includes(name)) throw new Error(`${name} is not a filter of this list`);
    this.#navigate({ [name]: value || null });
  }

  /** A search or filter narrows the list (the empty state then says "no match", not "none yet"). */
  get filtered(): boolean {
    return !!this.query || this.#filters.some((f) => !!this.filter(f));
  }

  get sort(): SortOrder<F> {
    const raw = this.#params.get(this.#key('sort'));
    const fallback = this.#defaultSort ?? ({ field: '', direction: 'ASC' } as SortOrder<F>);
    if (!raw) return fallback;
    const descending = raw.startsWith('-');
    return { field: (descending ? raw.slice(1) : raw) as F, direction: descending ? 'DESC' : 'ASC' };
  }

  /** A sort header was pressed: the same column flips its direction, another starts ascending. */
  onsort = (field: F) => {
    const current = this.sort;
    const direction: Direction = current.field === field && current.direction === 'ASC' ? 'DESC' : 'ASC';
    const isDefault = this.#defaultSort && field === this.#defaultSort.field && direction === this.#defaultSort.direction;
    this.#navigate({ sort: isDefault ? null : `${direction === 'DESC' ? '-' : ''}${field}` });
  };

  get #starts(): string[] {
    return this.#params.getAll(this.#key('after'));
  }

  /** 1 for the first page. */
  get page(): number {
    return this.#starts.length + 1;
  }

  get args(): { first: number; after: string | null } {
    return { first: this.size, after: this.#starts.at(-1) ?? null };
  }

  next(endCursor: string | null) {
    if (endCursor) this.#turn([...this.#starts, endCursor]);
  }

  previous() {
    if (this.#starts.length) this.#turn(this.#starts.slice(0, -1));
  }

  #turn(starts: string[]) {
    const url = new URL(page.url);
    url.searchParams.delete(this.#key('after'));
    for (const s of starts) url.searchParams.append(this.#key('after'), s);
    void goto(url, { keepFocus: true, noScroll: true });
  }

  /** Sets (or, for null, removes) parameters and starts again from the first page. */
  #navigate(changes: Record<string, string | null>, replaceState = false) {
    const url = new URL(page.url);
    // page.url names this screen until a navigation elsewhere has finished; a change made while one
    // is under way (the search box's pause ending after a click on a link) would cancel it.
    if (url.pathname !== this.#path || (navigating.to && navigating.to.url.pathname !== this.#path)) return;
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) url.searchParams.delete(this.#key(name));
      else url.searchParams.set(this.#key(name), value);
    }
    url.searchParams.delete(this.#key('after'));
    if (url.search === page.url.search) return;
    void goto(url, { keepFocus: true, noScroll: true, replaceState });
  }
}

/**
 * A one-time instruction in the URL (`?new` opens a create form): true when present, and taken out of
 * the address at once, so a later reload or a filter change does not carry it along.
 */
export function takeFlag(name: string): boolean {
  if (!page.url.searchParams.has(name)) return false;
  const url = new URL(page.url);
  url.searchParams.delete(name);
  // After the router has settled: replaceState during the first render is refused by SvelteKit.
  setTimeout(() => replaceState(url, page.state), 0);
  return true;
}
