// The policy benchmark's baseline: a bare TCP server speaking the same protocol (requests parsed with
// the same parser, every answer `action=DUNNO`) — no database, no limits. What the real policy service
// adds on top of this is what bench/policy.ts measures.
import net from 'node:net';
import { formatResponse, PolicyRequestParser } from '../worker/src/policy/protocol.js';

const answer = formatResponse('DUNNO');
const server = net.createServer((sock) => {
  sock.setNoDelay(true);
  sock.setEncoding('utf8');
  const parser = new PolicyRequestParser();
  sock.on('data', (chunk: string) => {
    for (const _ of parser.push(chunk)) sock.write(answer);
  });
  sock.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(`policy service listening on 127.0.0.1:${(server.address() as net.AddressInfo).port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
