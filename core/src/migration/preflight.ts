// The pre-flight check behind testImapConnection: log in to the source, list its folders with message
// counts and sizes, and show where each would go in the target. Nothing is copied and nothing is
// stored; the password is used for this one login and forgotten.
import { STANDARD_TARGET, planFolders } from './folder-mapping.js';
import { SourceConnection, type SourceSettings } from './source-imap.js';

export interface PreflightFolder {
  name: string;
  targetName: string;
  specialUse: string | null;
  messages: number;
  sizeBytes: number | null;
  copied: boolean;
  note: string | null;
}

export interface PreflightResult {
  folders: PreflightFolder[];
  totalMessages: number;
  totalBytes: number | null;
  tls: boolean;
  capabilities: string[];
}

export async function preflight(settings: SourceSettings, opts: { timeoutMs?: number } = {}): Promise<PreflightResult> {
  const source = await SourceConnection.connect(settings, { timeoutMs: opts.timeoutMs ?? 15_000 });
  try {
    const listed = await source.listFolders(true);
    const plans = planFolders(listed, { personalPrefix: source.personalPrefix, target: STANDARD_TARGET });
    const byPath = new Map(listed.map((f) => [f.path, f]));
    const folders: PreflightFolder[] = [];
    for (const p of plans) {
      const f = byPath.get(p.sourcePath)!;
      let size = f.sizeBytes;
      if (size === null && p.copy && (f.messages ?? 0) > 0 && !source.hasStatusSize) size = await source.folderSize(p.sourcePath);
      folders.push({
        name: p.sourcePath,
        targetName: p.targetName,
        specialUse: p.specialUse,
        messages: f.messages ?? 0,
        sizeBytes: size,
        copied: p.copy,
        note: p.skipReason ?? null,
      });
    }
    const copied = folders.filter((f) => f.copied);
    return {
      folders,
      totalMessages: copied.reduce((n, f) => n + f.messages, 0),
      totalBytes: copied.every((f) => f.sizeBytes !== null) ? copied.reduce((n, f) => n + (f.sizeBytes ?? 0), 0) : null,
      tls: settings.security !== 'NONE',
      capabilities: [...source.client.capabilities.keys()].filter((c) => /^[A-Z0-9=+-]+$/i.test(c)).slice(0, 60),
    };
  } finally {
    await source.close();
  }
}
