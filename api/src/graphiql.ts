// GraphiQL in the browser as a small page plus its assets. yoga's renderer inlines the whole bundle
// (GraphiQL, its CSS, three Monaco workers and a favicon: ~9 MB) into the page on every GET; here the
// page links them instead. Each asset is served under a content hash (so it can be cached for a year
// and never goes stale), compressed once (brotli or gzip, in the background threads of zlib) and
// answered 304 to a revalidation. Bundled, no CDN: it works on an offline host.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

/** Where the assets live: under the API's path, so a proxy in front of /graphql passes them too. */
export const GRAPHIQL_ASSETS_PATH = '/graphql/graphiql/';

interface Bundle {
  js: string;
  css: string;
  favicon: string;
  editorWorkerService: string;
  jsonWorker: string;
  graphqlWorker: string;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
  encoded: Map<'br' | 'gzip', Promise<Buffer>>;
}

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

let assets: { byPath: Map<string, Asset>; url: Record<keyof Bundle, string> } | null = null;

function load() {
  if (assets) return assets;
  // The bundle module is not in the package's exports map; it sits beside the entry point.
  const require = createRequire(import.meta.url);
  const bundle = require(join(dirname(require.resolve('@graphql-yoga/render-graphiql')), 'graphiql.js')) as Bundle;
  const byPath = new Map<string, Asset>();
  const url = {} as Record<keyof Bundle, string>;
  const add = (key: keyof Bundle, name: string, ext: string, type: string, body: Buffer) => {
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
    const path = `${GRAPHIQL_ASSETS_PATH}${name}.${hash}.${ext}`;
    byPath.set(path, { body, type, etag: `"${hash}"`, encoded: new Map() });
    url[key] = path;
  };
  const js = 'application/javascript; charset=utf-8';
  add('js', 'graphiql', 'js', js, Buffer.from(bundle.js));
  add('css', 'graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(bundle.css));
  add('editorWorkerService', 'editor.worker', 'js', js, Buffer.from(bundle.editorWorkerService));
  add('jsonWorker', 'json.worker', 'js', js, Buffer.from(bundle.jsonWorker));
  add('graphqlWorker', 'graphql.worker', 'js', js, Buffer.from(bundle.graphqlWorker));
  const icon = /^data:([^;]+);base64,(.*)$/s.exec(bundle.favicon);
  if (icon) add('favicon', 'favicon', 'ico', icon[1]!, Buffer.from(icon[2]!, 'base64'));
  assets = { byPath, url };
  return assets;
}

/** The page: a few hundred bytes of HTML linking the assets. */
export function renderGraphiQLPage(opts: { title?: string } & Record<string, unknown> = {}): string {
  const { url } = load();
  const workers = { editorWorkerService: url.editorWorkerService, json: url.jsonWorker, graphql: url.graphqlWorker };
  // Only our own constant options reach the page; "<" is escaped anyway so no value can end the script.
  const json = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');
  const title = (opts.title ?? 'GraphiQL').replace(/[<>&"]/g, '');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${title}</title>
    ${url.favicon ? `<link rel="icon" href="${url.favicon}" />` : ''}
    <link rel="stylesheet" href="${url.css}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script>
      const workers = ${json(workers)};
      self['MonacoEnvironment'] = { globalAPI: false, getWorkerUrl: (_moduleId, label) => workers[label] };
    </script>
    <script src="${url.js}"></script>
    <script>
      YogaGraphiQL.renderYogaGraphiQL(window.document.querySelector('#root'), ${json(opts)});
    </script>
  </body>
</html>
`;
}

function encodingFor(req: IncomingMessage): 'br' | 'gzip' | null {
  const accept = String(req.headers['accept-encoding'] ?? '');
  return /\bbr\b/.test(accept) ? 'br' : /\bgzip\b/.test(accept) ? 'gzip' : null;
}

/** Answers a GET for one of the assets; false when the path is not one (the caller answers 404). */
export function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const asset = load().byPath.get(path);
  if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const headers = {
    'content-type': asset.type,
    'cache-control': 'public, max-age=31536000, immutable',
    etag: asset.etag,
    vary: 'accept-encoding',
  };
  const send = (status: number, body: Buffer | null, encoding?: string) =>
    res
      .writeHead(status, { ...headers, ...(encoding ? { 'content-encoding': encoding } : {}), ...(body ? { 'content-length': body.length } : {}) })
      .end(req.method === 'HEAD' || !body ? undefined : body);
  if (req.headers['if-none-match'] === asset.etag) {
    send(304, null);
    return true;
  }
  const encoding = encodingFor(req);
  if (!encoding) {
    send(200, asset.body);
    return true;
  }
  let encoded = asset.encoded.get(encoding);
  if (!encoded) {
    encoded = encoding === 'br' ? brotli(asset.body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } }) : gz(asset.body, { level: 9 });
    asset.encoded.set(encoding, encoded);
  }
  encoded.then(
    (body) => send(200, body, encoding),
    () => send(200, asset.body),
  );
  return true;
}
