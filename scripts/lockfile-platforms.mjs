#!/usr/bin/env node
// Keeps package-lock.json acceptable to `npm ci` on these machines.
//
// The npm registry reachable here does not serve some platform builds that
// packages list as optional dependencies (rollup's and turbo's builds for
// other systems answer 404), so `npm install` leaves them out of the lockfile
// and `npm ci` then rejects the lockfile as out of sync (npm/cli#4828 is the
// same symptom elsewhere). This adds a stub entry (version, os, cpu, libc,
// optional) for each such package; npm never installs them on a non-matching
// machine, so nothing is fetched. Idempotent; run by the root postinstall.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
if (!existsSync(file)) process.exit(0);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages ?? {};

const OS = [['android', 'android'], ['darwin', 'darwin'], ['freebsd', 'freebsd'], ['openbsd', 'openbsd'], ['openharmony', 'openharmony'], ['win32', 'win32'], ['windows', 'win32'], ['linux', 'linux']];
const CPU = [['arm64', 'arm64'], ['aarch64', 'arm64'], ['arm-', 'arm'], ['arm', 'arm'], ['ia32', 'ia32'], ['loong64', 'loong64'], ['ppc64', 'ppc64'], ['riscv64', 'riscv64'], ['s390x', 's390x'], ['x64', 'x64'], ['-64', 'x64']];

function platformOf(name) {
  const short = name.split('/').pop();
  const os = OS.find(([k]) => short.includes(k))?.[1];
  const cpu = CPU.find(([k]) => short.includes(k))?.[1];
  if (os === undefined || cpu === undefined) return undefined;
  const libc = short.includes('musl') ? ['musl'] : os === 'linux' && short.includes('gnu') ? ['glibc'] : undefined;
  return { os: [os], cpu: [cpu], ...(libc ? { libc } : {}) };
}

const added = [];
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] !== undefined) continue;
    const platform = platformOf(name);
    if (platform === undefined) continue;
    packages[key] = { version, ...platform, optional: true, ...(entry.dev ? { dev: true } : {}) };
    added.push(`${name}@${version} (for ${path || 'root'})`);
  }
}
if (added.length > 0) {
  lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(`lockfile-platforms: listed ${added.length} platform builds the registry here does not serve, so npm ci accepts the lockfile`);
}
