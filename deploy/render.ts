// Loads deploy/templates and renders them with the pure renderer in core/src/render.
// Library use: `await renderMailstackFiles(settings)` → { relPath: content }, or
// `await writeMailstackConfig(settings)` to write them below settings.paths.configDir.
// CLI: `tsx deploy/render.ts settings.json` writes the files and prints their paths;
// `MAIL_DB_PASSWORD=… tsx deploy/render.ts role-sql mail_reader` prints the SQL that creates or
// updates the read-only role (the password comes from the environment, never the command line,
// where `ps` would show it). See docs/mail-stack.md.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAILSTACK_TEMPLATE_FILES,
  renderMailstackConfig,
  renderReadonlyRoleSql,
  type MailstackSettings,
  type MailstackTemplateFile,
} from '../core/src/render/mailstack-config.js';

export const TEMPLATES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates');

export async function loadMailstackTemplates(dir: string = TEMPLATES_DIR): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const rel of MAILSTACK_TEMPLATE_FILES) out[rel] = await readFile(path.join(dir, rel), 'utf8');
  return out;
}

export async function renderMailstackFiles(
  settings: MailstackSettings,
  templatesDir: string = TEMPLATES_DIR,
): Promise<Record<MailstackTemplateFile, string>> {
  return renderMailstackConfig(settings, await loadMailstackTemplates(templatesDir));
}

/** Renders and writes every file (mode 0640: they hold the read-only role's password). Returns
 *  the absolute paths written. */
export async function writeMailstackConfig(settings: MailstackSettings, templatesDir: string = TEMPLATES_DIR): Promise<string[]> {
  const files = await renderMailstackFiles(settings, templatesDir);
  const written: string[] = [];
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(settings.paths.configDir, rel);
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    await writeFile(abs, content, { mode: 0o640 });
    written.push(abs);
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [arg, role] = process.argv.slice(2);
  if (arg === 'role-sql') {
    const password = process.env.MAIL_DB_PASSWORD;
    if (!role || !password) {
      console.error('usage: MAIL_DB_PASSWORD=… tsx deploy/render.ts role-sql ROLE');
      process.exit(2);
    }
    process.stdout.write(renderReadonlyRoleSql(role, password));
  } else if (arg) {
    const settings = JSON.parse(await readFile(arg, 'utf8')) as MailstackSettings;
    for (const p of await writeMailstackConfig(settings)) console.log(p);
  } else {
    console.error('usage: tsx deploy/render.ts settings.json | MAIL_DB_PASSWORD=… tsx deploy/render.ts role-sql ROLE');
    process.exit(2);
  }
}
