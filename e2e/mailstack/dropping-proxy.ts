// A TCP proxy on loopback in front of a source server that cuts sessions the way flaky providers do:
// every session is dropped once the client has sent N commands (lines), and/or once the server has
// sent B bytes — mid-response, so a long FETCH is cut in the middle of a message. Both sides are
// closed hard (RST). Used by the migration suite to prove that dropped sessions neither lose nor
// duplicate mail.
import net from 'node:net';

export interface DroppingProxy {
  port: number;
  /** Sessions opened and sessions cut so far. */
  readonly sessions: number;
  readonly cuts: number;
  stop(): Promise<void>;
}

export async function startDroppingProxy(opts: { targetPort: number; cutAfterCommands?: number; cutAfterServerBytes?: number }): Promise<DroppingProxy> {
  let sessions = 0;
  let cuts = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sessions++;
    const upstream = net.connect({ host: '127.0.0.1', port: opts.targetPort });
    open.add(client).add(upstream);
    let commands = 0;
    let fromServer = 0;
    let cutting = false;
    let cutAt = Infinity;
    const cut = () => {
      if (client.destroyed && upstream.destroyed) return;
      cuts++;
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client.on('data', (d: Buffer) => {
      if (cutting) return;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) commands++;
      upstream.write(d);
      if (opts.cutAfterCommands && commands >= opts.cutAfterCommands) {
        // Let the server start its answer to the last command, then cut in the middle of it.
        cutting = true;
        cutAt = fromServer + 1500;
        setTimeout(cut, 300).unref();
      }
    });
    upstream.on('data', (d: Buffer) => {
      const limit = Math.min(cutAt, opts.cutAfterServerBytes ?? Infinity);
      if (fromServer + d.length >= limit) {
        client.write(d.subarray(0, Math.max(0, limit - fromServer)));
        fromServer = limit;
        cut();
        return;
      }
      fromServer += d.length;
      client.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get sessions() {
      return sessions;
    },
    get cuts() {
      return cuts;
    },
    stop: async () => {
      for (const s of open) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
