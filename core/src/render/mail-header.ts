// Unstructured header text (RFC 5322 §2.2.1) for the mails the panel composes itself (quota
// warnings). Invariant: what comes out is one line without control characters, so no value put into
// a template can end its header and start another (CR/LF injection). Encoding non-ASCII text
// (RFC 2047) is the mail composer's job (nodemailer does it).

export class HeaderRenderError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** Longest header line RFC 5322 allows (without CRLF). */
export const HEADER_MAX_LENGTH = 998;

// C0 controls (CR, LF and TAB included: the text is one folded line), DEL, C1 controls, and the
// Unicode line and paragraph separators.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function headerText(text: string, field = 'header'): string {
  if (typeof text !== 'string') throw new HeaderRenderError(field, 'must be a string');
  if (CONTROL_RE.test(text)) throw new HeaderRenderError(field, 'must be one line without control characters');
  if (text.length > HEADER_MAX_LENGTH) throw new HeaderRenderError(field, `must be at most ${HEADER_MAX_LENGTH} characters`);
  return text;
}
