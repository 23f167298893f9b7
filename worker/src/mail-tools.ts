// Which real mail-stack tools the worker drives, from the environment (core/src/env.ts;
// docs/mail-stack.md). Without DOVECOT_CONFIG the worker works on the files alone.
import { existsSync } from 'node:fs';
import type { Config } from '@mailpanel/core/env';
import type { Owner } from './maildir.js';
import type { Postfix } from './postfix-queue.js';
import type { Doveadm } from './quota.js';
import type { SieveCompiler } from './sieve.js';

const DEFAULT_SIEVEC = '/usr/bin/sievec';

/** Owner of everything under the mail root (the vmail user Dovecot runs as), when configured. */
export function mailOwner(cfg: Config): Owner {
  return { uid: cfg.MAIL_UID, gid: cfg.MAIL_GID ?? cfg.MAIL_UID };
}

export function doveadmOf(cfg: Config): Doveadm | null {
  return cfg.DOVECOT_CONFIG ? { doveadm: cfg.DOVEADM_PATH, dovecotConfig: cfg.DOVECOT_CONFIG } : null;
}

/** SIEVEC_PATH when set; else the Debian sievec when Dovecot is configured and it is installed. */
export function sieveCompilerOf(cfg: Config): SieveCompiler | null {
  const sievec = cfg.SIEVEC_PATH ?? (cfg.DOVECOT_CONFIG && existsSync(DEFAULT_SIEVEC) ? DEFAULT_SIEVEC : undefined);
  return sievec ? { sievec, dovecotConfig: cfg.DOVECOT_CONFIG } : null;
}

/** The Postfix whose queue the worker cleans when a mailbox is deleted, when configured. */
export function postfixOf(cfg: Config): Postfix | null {
  return cfg.POSTFIX_CONFIG_DIR ? { configDir: cfg.POSTFIX_CONFIG_DIR, commandDir: cfg.POSTFIX_COMMAND_DIR } : null;
}
