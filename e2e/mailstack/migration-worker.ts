// The panel's worker as its own process, for the migration suite (a test SIGKILLs it mid-run to
// prove that another worker resumes the migration). Environment comes from the test.
import { startWorker } from '../../worker/src/worker.js';
import { closeDb } from '../../core/src/db.js';

const worker = await startWorker();
console.log('migration worker ready');
let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  await worker.stop().catch(() => {});
  await closeDb().catch(() => {});
  process.exit(0);
});
