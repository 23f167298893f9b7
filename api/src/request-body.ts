// Reading a request body within a byte limit. The limit counts the bytes actually read, so a chunked
// body (no Content-Length) or a Content-Length that lies is held to it too; a declared length above
// the limit is refused before reading anything. Past the limit nothing more is buffered: the answer
// is 413 and the connection is closed, so a client cannot keep a socket busy feeding an unread body.
import type { IncomingMessage, ServerResponse } from 'node:http';

const TOO_LARGE = '{"errors":[{"message":"Request body too large","extensions":{"code":"PAYLOAD_TOO_LARGE"}}]}';

/** Resolves with the body, or with null after answering 413 (or when the client went away). */
export function readBodyWithin(req: IncomingMessage, res: ServerResponse, maxBytes: number): Promise<Buffer | null> {
  const refuse = () => {
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(TOO_LARGE);
    // Stop reading; the socket closes once the answer is written (connection: close).
    req.pause();
    req.removeAllListeners('data');
  };
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) {
    refuse();
    return Promise.resolve(null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        refuse();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', () => resolve(null));
    req.on('close', () => resolve(null)); // no-op when 'end' came first
  });
}
