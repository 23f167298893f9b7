// Cursor pagination for a list screen: always forward (`first` + `after`), remembering the cursor each
// page started after, so "Previous" returns to exactly the rows seen before. Changing a filter or the
// sort order calls reset().
import { untrack } from 'svelte';

export class Paging {
  size: number;
  #starts = $state<(string | null)[]>([null]);

  constructor(size = 25) {
    this.size = size;
  }

  get page(): number {
    return this.#starts.length;
  }

  get args(): { first: number; after: string | null } {
    return { first: this.size, after: this.#starts.at(-1) ?? null };
  }

  next(endCursor: string | null) {
    if (endCursor) this.#starts = [...this.#starts, endCursor];
  }

  previous(_startCursor?: string | null) {
    if (this.#starts.length > 1) this.#starts = this.#starts.slice(0, -1);
  }

  /** Back to the first page. Reads nothing reactively, so an effect calling it does not re-run on paging. */
  reset() {
    untrack(() => {
      if (this.#starts.length !== 1 || this.#starts[0] !== null) this.#starts = [null];
    });
  }
}
