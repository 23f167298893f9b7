// A closed-loop HTTP load generator for the benchmarks: N clients, each sending its next request as
// soon as the previous answer arrived, for a fixed time; keep-alive connections; latencies recorded.
import http from 'node:http';

export interface LoadResult {
  requests: number;
  errors: number;
  non2xx: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runLoad(opts: {
  url: string;
  clients: number;
  seconds: number;
  body: (i: number) => { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; payload?: string };
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.clients });
  const target = new URL(opts.url);
  const latencies: number[] = [];
  let errors = 0;
  let non2xx = 0;
  let n = 0;
  const end = Date.now() + opts.seconds * 1000;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const req = opts.body(i);
      const started = process.hrtime.bigint();
      const r = http.request(
        { agent, host: target.hostname, port: target.port, method: req.method, path: req.path, headers: { 'content-type': 'application/json', ...req.headers } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
            if ((res.statusCode ?? 0) >= 300) non2xx++;
            resolve();
          });
        },
      );
      r.on('error', () => {
        errors++;
        resolve();
      });
      r.end(req.payload);
    });
  const began = Date.now();
  await Promise.all(
    Array.from({ length: opts.clients }, async () => {
      while (Date.now() < end) await one(n++);
    }),
  );
  const seconds = (Date.now() - began) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, non2xx, seconds, rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

export const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
