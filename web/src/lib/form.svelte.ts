// One submission state per form: field errors shown next to their inputs, a form-level message,
// a success line, and the busy flag. After a refusal the first invalid input gets focus.
import { tick } from 'svelte';
import type { MutationOutcome } from './graphql/mutate';
import { toast } from './toast.svelte';

export class FormState {
  errors = $state<Record<string, string>>({});
  message = $state<string | null>(null);
  success = $state<string | null>(null);
  submitting = $state(false);
  form: HTMLFormElement | undefined = undefined;

  reset() {
    this.errors = {};
    this.message = null;
    this.success = null;
  }

  /** Client-side checks: show them like server errors and stop. */
  async refuse(errors: Record<string, string>, message: string | null = null): Promise<boolean> {
    if (!Object.keys(errors).length && !message) return false;
    this.errors = errors;
    this.message = message;
    await this.focusFirstInvalid();
    return true;
  }

  async run<T>(action: () => Promise<MutationOutcome<T>>, onSuccess: (value: Extract<MutationOutcome<T>, { ok: true }>['value']) => string | void | Promise<string | void>): Promise<boolean> {
    if (this.submitting) return false;
    this.reset();
    this.submitting = true;
    try {
      const outcome = await action();
      if (outcome.ok) {
        const message = await onSuccess(outcome.value);
        if (message) {
          this.success = message;
          toast.success(message);
        }
        return true;
      }
      this.errors = outcome.fieldErrors;
      this.message = outcome.message;
      await tick();
      // Errors shown next to their fields need no repeating above the button; an error about a field
      // this form does not show keeps the API's full message.
      const keys = Object.keys(outcome.fieldErrors).length;
      const shown = this.form?.querySelectorAll('.field-error').length ?? 0;
      if (keys && shown >= keys) this.message = keys === 1 ? 'Please correct the highlighted field.' : 'Please correct the highlighted fields.';
      await this.focusFirstInvalid();
      return false;
    } catch (err) {
      this.message = err instanceof Error ? err.message : 'Something went wrong. Please try again.';
      return false;
    } finally {
      this.submitting = false;
    }
  }

  async focusFirstInvalid() {
    await tick();
    const invalid = this.form?.querySelector<HTMLElement>('[aria-invalid="true"]');
    (invalid ?? this.form?.querySelector<HTMLElement>('.form-error'))?.focus();
  }
}
