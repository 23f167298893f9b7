// Baseline for the provisioning benchmark: N argon2id hashes with the panel's parameters, C at a time,
// in a process of its own (the same thread pool an API process has). Prints the elapsed seconds.
import { hashPassword } from '../../core/src/crypto/password.js';

const n = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 8);
let next = 0;
const t0 = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      await hashPassword(`password-${next}-long-enough`);
    }
  }),
);
console.log(`hashed ${n} in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(3)} s`);
