// How guessable a password is, by zxcvbn (dictionaries of common passwords, names and words,
// keyboard patterns, dates, repeats, l33t): a score from 0 (too guessable) to 4 (very unguessable)
// and, below the bar, the estimator's own warning and suggestion for the person typing it. The
// person's own address and name count as guessable (userInputs).
import { zxcvbn, zxcvbnOptions } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

let ready = false;
function setUp() {
  if (ready) return;
  zxcvbnOptions.setOptions({ dictionary: { ...common.dictionary, ...en.dictionary }, graphs: common.adjacencyGraphs, translations: en.translations });
  ready = true;
}

export interface Strength {
  score: 0 | 1 | 2 | 3 | 4;
  /** Why it is weak and what would help, for the field's error; empty when nothing is to say. */
  reason: string;
}

/** Splits addresses and names into the parts someone would guess from (local part, domain labels). */
function guessableParts(inputs: string[]): string[] {
  return [...new Set(inputs.flatMap((s) => [s, ...s.toLowerCase().split(/[@.\s_+-]+/)]).filter((p) => p.length >= 3))];
}

export function passwordStrength(password: string, userInputs: string[] = []): Strength {
  setUp();
  // zxcvbn's time grows with length; the part that decides is the start (and 100 characters are plenty).
  const r = zxcvbn(password.slice(0, 100), guessableParts(userInputs));
  const reason = [r.feedback.warning, ...r.feedback.suggestions].filter(Boolean).join(' ');
  return { score: r.score, reason };
}
