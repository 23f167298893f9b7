// Relay global ids: base64("Typename:uuid"). Every node type's id is a UUID, so anything else is
// refused here — before it could reach PostgreSQL as an invalid uuid (an internal error and an
// error-level log line, for anyone, anonymously). Ids arrive from anyone and can be a megabyte long:
// the errors never echo them.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { NotFoundError, ValidationError } from '@mailpanel/core/errors';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPENAME = /^[A-Z][A-Za-z]{0,39}$/;
/** base64 of a 40-character typename, ':' and a UUID fits in well under this. */
const MAX_ID_LENGTH = 120;

/** The type and UUID of a global id: undecodable → ValidationError (BAD_USER_INPUT), a non-UUID id → NotFoundError. */
export function decodeId(globalId: string): { typename: string; id: string } {
  let decoded: { typename: string; id: string } | null = null;
  try {
    if (globalId.length <= MAX_ID_LENGTH) decoded = decodeGlobalID(globalId);
  } catch {
    /* refused below */
  }
  if (!decoded || !TYPENAME.test(decoded.typename)) throw ValidationError.of('id', 'INVALID', 'Not a valid id');
  if (!UUID.test(decoded.id)) throw new NotFoundError(decoded.typename);
  return decoded;
}
