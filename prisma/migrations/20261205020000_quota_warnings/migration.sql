-- The quota warning threshold (percent) a mailbox's usage last crossed and was told about; 0 when
-- under every threshold. Dropping under a threshold lowers it again, so the next crossing warns anew.
ALTER TABLE "mailboxes" ADD COLUMN "quota_warned_percent" INTEGER NOT NULL DEFAULT 0;
