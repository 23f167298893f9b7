// Loads deploy/templates and renders them with the pure renderer in core/src/render.
// Library use: `await renderMailstackFiles(settings)` → { relPath: content }, or
// `await writeMailstackConfig(settings)` to write them below settings.paths.configDir.
// CLI: `tsx deploy/render.ts settings.json` writes the files and prints their paths.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  MAILSTACK_TEMPLATE_FILES,
  renderMailstackConfig,
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
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx deploy/render.ts settings.json');
    process.exit(2);
  }
  const settings = JSON.parse(await readFile(file, 'utf8')) as MailstackSettings;
  for (const p of await writeMailstackConfig(settings)) console.log(p);
}
