// Imports every type so that it registers with the builder, then builds the schema.
import { builder } from '../builder.js';
import './scalars.js';
import './errors.js';
import './session.js';
import './two-factor.js';
import './login-session.js';
import './app-password.js';
import './hosting-package.js';
import './customer.js';
import './user.js';
import './api-token.js';
import './domain.js';
import './alias-domain.js';
import './mailbox.js';
import './mailbox-restore.js';
import './autoresponder.js';
import './forward.js';
import './audit-event.js';
import './email-security.js';
import './quarantine.js';
import './sending-limit.js';
import './migration.js';
import './migration-sync.js';
import './bulk-migration.js';
import './bulk-import.js';

export const schema = builder.toSchema({ sortSchema: true });
