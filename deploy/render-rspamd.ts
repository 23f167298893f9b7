// Loads deploy/templates/rspamd and renders them with the pure renderer in core/src/render/rspamd.ts.
// Library use: `await renderRspamdFiles(settings)` → { pathRelativeToLocalConfdir: content }.
// CLI: `tsx deploy/render-rspamd.ts settings.json <LOCAL_CONFDIR>` writes them (mode 0644) and prints
// their paths; start rspamd with --var=LOCAL_CONFDIR=<that folder> (docs/email-security.md).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RSPAMD_TEMPLATE_FILES, renderRspamdConfig, type RspamdSettings } from '../core/src/render/rspamd.js';

export const TEMPLATES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'templates');

export async function renderRspamdFiles(settings: RspamdSettings, templatesDir: string = TEMPLATES_DIR): Promise<Record<string, string>> {
  const templates: Record<string, string> = {};
  for (const rel of RSPAMD_TEMPLATE_FILES) templates[rel] = await readFile(path.join(templatesDir, rel), 'utf8');
  return renderRspamdConfig(settings, templates);
}

export async function writeRspamdConfig(settings: RspamdSettings, localConfdir: string): Promise<string[]> {
  const written: string[] = [];
  for (const [rel, content] of Object.entries(await renderRspamdFiles(settings))) {
    const abs = path.join(localConfdir, rel);
    await mkdir(path.dirname(abs), { recursive: true, mode: 0o755 });
    await writeFile(abs, content, { mode: 0o644 });
    written.push(abs);
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, dir] = process.argv.slice(2);
  if (!file || !dir) {
    console.error('usage: tsx deploy/render-rspamd.ts settings.json <LOCAL_CONFDIR>');
    process.exit(2);
  }
  for (const p of await writeRspamdConfig(JSON.parse(await readFile(file, 'utf8')) as RspamdSettings, dir)) console.log(p);
}
