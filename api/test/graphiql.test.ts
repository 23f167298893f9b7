import { get } from 'node:http';
import { brotliDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../../test/harness.js';

/** A GET as a browser sends it, with the bytes as they came over the wire (not decompressed). */
function raw(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('GraphiQL', async () => {
  const t = await startTestApp({ listen: true });

  it('the page is small; its assets come compressed, cacheable for a year, and revalidate with 304', async () => {
    const page = await raw(`${t.app.url}/graphql`, { accept: 'text/html', 'accept-encoding': 'gzip, deflate, br' });
    expect(page.status).toBe(200);
    expect(page.body.length).toBeLessThan(10_000);
    const html = page.body.toString();
    const urls = [...html.matchAll(/\/graphql\/graphiql\/[\w.-]+/g)].map((m) => m[0]);
    // GraphiQL, its CSS, three editor workers, the favicon.
    expect(new Set(urls).size).toBe(6);
    let wire = page.body.length;
    let served = 0;
    for (const url of new Set(urls)) {
      const a = await raw(`${t.app.url}${url}`, { 'accept-encoding': 'gzip, deflate, br' });
      expect(a.status, url).toBe(200);
      expect(a.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(a.headers['content-encoding']).toBe('br');
      served += brotliDecompressSync(a.body).length;
      wire += a.body.length;
      const again = await raw(`${t.app.url}${url}`, { 'accept-encoding': 'br', 'if-none-match': String(a.headers.etag) });
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
    }
    // The whole of GraphiQL (~9 MB) crosses the wire once, at about a quarter of its size.
    expect(served).toBeGreaterThan(8_000_000);
    expect(wire).toBeLessThan(3_000_000);
    // Without compression the assets are still served (plain), and an unknown asset is a 404.
    const plain = await raw(`${t.app.url}${urls.find((u) => u.endsWith('.css'))}`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(500_000);
    expect((await raw(`${t.app.url}/graphql/graphiql/nothing.js`)).status).toBe(404);
  });
});
