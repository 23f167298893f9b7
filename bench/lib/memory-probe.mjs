// Loaded into a benchmarked process with NODE_OPTIONS="--expose-gc --import=<this file>": on SIGUSR2
// it collects garbage (twice, half a second apart, so objects freed by finalizers go too and freed
// pages are returned) and prints one line
// `MEMORY_PROBE {"rss":…,"heapUsed":…,"heapTotal":…,"external":…,"arrayBuffers":…,…}` (bytes) on stdout,
// so a benchmark reads memory after GC instead of RSS with whatever garbage happened to be there.
// With MEMORY_PROBE_SNAPSHOT_DIR set it also writes a heap snapshot there (for diagnosis).
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import path from 'node:path';

let n = 0;
process.on('SIGUSR2', async () => {
  const cpu = process.cpuUsage();
  // V8 and the allocator hand freed pages back to the system a little after a collection.
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 500));
  const m = process.memoryUsage();
  const line = { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, gc: typeof globalThis.gc === 'function',
    // Committed memory of each V8 space: RSS can grow with a space's size while heapUsed does not.
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((sp) => [sp.space_name, sp.physical_space_size])),
    // CPU time (µs, user + system) when the signal came and after the collections, so a caller can
    // measure the CPU of what happened between two probes without the probes' own GC.
    cpuAtSignal: cpu.user + cpu.system,
    cpuAfterGc: process.cpuUsage().user + process.cpuUsage().system };
  if (process.env.MEMORY_PROBE_SNAPSHOT_DIR) line.snapshot = writeHeapSnapshot(path.join(process.env.MEMORY_PROBE_SNAPSHOT_DIR, `probe-${process.pid}-${++n}.heapsnapshot`));
  process.stdout.write(`MEMORY_PROBE ${JSON.stringify(line)}\n`);
});
