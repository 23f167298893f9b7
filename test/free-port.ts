// A TCP port on loopback that nothing listens on right now (the kernel's pick for port 0), for the
// servers tests and benchmarks start. The one helper for it: test setup, process tests, the browser
// suite and the benchmarks share it.
import { createServer, type AddressInfo } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
