// The row a dialog acts on ("Delete a@example.com?"): which one, and whether the dialog is open. The
// row stays set after closing so the dialog's closing animation still has its text.
import { refusal, type MutationOutcome } from './graphql/mutate';
import { toast } from './toast.svelte';

export class RowDialog<T> {
  item = $state<T | null>(null);
  open = $state(false);
  readonly #done: () => unknown;

  /** `done` runs after a confirmed action succeeded (typically the list's refetch). */
  constructor(done: () => unknown = () => undefined) {
    this.#done = done;
  }

  show = (item: T) => {
    this.item = item;
    this.open = true;
  };

  /**
   * A ConfirmDialog's onconfirm: runs the mutation on the row, toasts `success`, then `done`. A
   * refusal comes back as the dialog's message, and the dialog stays open.
   */
  confirm<V>(action: (item: T) => Promise<MutationOutcome<V>>, success: (item: T) => string): () => Promise<string | void> {
    return async () => {
      const item = this.item;
      if (item === null) return;
      const outcome = await action(item);
      if (!outcome.ok) return refusal(outcome);
      toast.success(success(item));
      await this.#done();
    };
  }
}
