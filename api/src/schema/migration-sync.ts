// Keep in sync until cut-over (docs/migration.md): what a sync-mode migration shows, and
// finishMigration. Starting one is startMigration's `sync` input (migration.ts); the worker's side is
// in worker/src/migration/run-migration.ts (goIdle) and core/src/migration/sync.ts.
import { config } from '@mailpanel/core/env';
import { ValidationError } from '@mailpanel/core/errors';
import { enqueue } from '@mailpanel/core/jobs';
import { builder } from '../builder.js';
import { transaction } from '../mutation-helpers.js';
import { MUTATION_ERRORS } from './errors.js';
import { Migration, auditMigration, loadMigration, lockMigration, publishState } from './migration.js';

interface SyncView {
  intervalMinutes: number;
  count: number;
  lastSyncAt: Date | null;
  lastSyncMessages: number | null;
  lastSyncBytes: bigint | null;
  nextSyncAt: Date | null;
  finishRequested: boolean;
}

const MigrationSync = builder.objectRef<SyncView>('MigrationSync').implement({
  description: 'Keep in sync until cut-over: after the first full copy (verified), only new mail is copied every intervalMinutes until finishMigration.',
  fields: (t) => ({
    intervalMinutes: t.exposeInt('intervalMinutes'),
    count: t.exposeInt('count', { description: 'Completed copies, the first full copy included' }),
    lastSyncAt: t.expose('lastSyncAt', { type: 'DateTime', nullable: true }),
    lastSyncMessages: t.exposeInt('lastSyncMessages', { nullable: true, description: 'Messages the last completed sync copied (the first: everything)' }),
    lastSyncBytes: t.float({ nullable: true, resolve: (s) => (s.lastSyncBytes === null ? null : Number(s.lastSyncBytes)) }),
    nextSyncAt: t.expose('nextSyncAt', { type: 'DateTime', nullable: true, description: 'While SYNCING and idle: when the next sync starts' }),
    finishRequested: t.exposeBoolean('finishRequested', { description: 'finishMigration was called: one last sync, then SUCCEEDED' }),
  }),
});

builder.prismaObjectFields('Migration', (t) => ({
  sync: t.field({
    type: MigrationSync,
    nullable: true,
    description: 'Null for a one-time migration',
    resolve: (m) =>
      m.syncIntervalMinutes === null
        ? null
        : {
            intervalMinutes: m.syncIntervalMinutes,
            count: m.syncCount,
            lastSyncAt: m.lastSyncAt,
            lastSyncMessages: m.lastSyncMessages,
            lastSyncBytes: m.lastSyncBytes,
            nextSyncAt: m.status === 'SYNCING' ? m.nextSyncAt : null,
            finishRequested: m.finishRequested,
          },
  }),
}));

builder.mutationFields((t) => ({
  finishMigration: t.field({
    type: Migration,
    description:
      'Cut-over for a keep-in-sync migration: one last sync (started now, or right after the sync in progress), verified, then SUCCEEDED and the source password erased.',
    authScopes: { $all: { authenticated: true, write: true } },
    errors: { types: MUTATION_ERRORS, dataField: { name: 'migration' } },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const migration = await transaction(async (tx) => {
        const m = await loadMigration(tx, ctx, String(args.id));
        // The row lock orders this against the runner's goIdle: either it sees finish_requested (and
        // schedules the last sync at once) or this sees the lease released (and enqueues it here).
        const current = await lockMigration(tx, m.id);
        if (current.syncIntervalMinutes === null) throw ValidationError.of('id', 'NOT_SYNC_MODE', 'Only a keep-in-sync migration can be finished; this one ends by itself');
        if (!['QUEUED', 'RUNNING', 'SYNCING'].includes(current.status)) throw ValidationError.of('id', 'NOT_RUNNING', `The migration has already ended (${current.status.toLowerCase()})`);
        if (current.cancelRequested) throw ValidationError.of('id', 'CANCEL_REQUESTED', 'The migration is being cancelled');
        if (current.finishRequested) throw ValidationError.of('id', 'ALREADY_FINISHING', 'Finishing was already requested; the last sync runs now');
        const leaseLive = current.leaseId && current.heartbeatAt && current.heartbeatAt.getTime() >= Date.now() - config().MIGRATION_LEASE_SECONDS * 1000;
        const idle = current.status === 'SYNCING' && current.phase === 'IDLE' && !leaseLive;
        const updated = await tx.migration.update({ where: { id: m.id }, data: { finishRequested: true, ...(idle ? { nextSyncAt: new Date() } : {}) } });
        // Idle between syncs: the last sync starts now (the job scheduled for later finds it ended).
        if (idle) await enqueue(ctx.boss, tx, 'migrate-mailbox', { migrationId: m.id });
        await auditMigration(tx, ctx, m, 'migration.finish', { syncs: current.syncCount });
        return updated;
      });
      publishState(ctx, migration.id, migration.status);
      return migration;
    },
  }),
}));
