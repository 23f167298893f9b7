// `npm run migrate`: apply prisma/migrations to DATABASE_URL (or the embedded database).
import { ensureDatabase } from '@mailpanel/core/bootstrap';

const embedded = await ensureDatabase();
console.log('migrations applied');
await embedded?.stop();
