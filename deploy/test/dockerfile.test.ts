// The Dockerfile cannot be built here (no container engine on the development and CI
// machines); these checks catch what would break a build or a deployment statically:
// sources it copies, the workspaces `npm ci` needs, and agreement with the Deployment.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { DEPLOY, ROOT, readYaml } from './deployFiles.js';

interface Instruction {
  readonly stage: number;
  readonly op: string;
  readonly args: string;
}

/** Instructions of a Dockerfile (continuation lines joined, comments dropped), with the stage index. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const [op, ...rest] = t.split(/\s+/);
    if (op!.toUpperCase() === 'FROM') stage += 1;
    out.push({ stage, op: op!.toUpperCase(), args: rest.join(' ') });
  }
  return out;
}

const dockerfile = instructions(readFileSync(join(DEPLOY, 'docker', 'Dockerfile'), 'utf8'));
const lastStage = Math.max(...dockerfile.map((i) => i.stage));
const runtime = dockerfile.filter((i) => i.stage === lastStage);

describe('Dockerfile', () => {
  it('every file or folder copied from the build context exists in the repository', () => {
    const copies = dockerfile.filter((i) => i.op === 'COPY' && !i.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const parts = c.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(0, -1)) expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
    }
  });

  it('copies the package.json of every workspace before npm ci (npm ci checks them against the lockfile)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
    const workspaces = pkg.workspaces.flatMap((w) => (w.endsWith('/*') ? readdirSync(join(ROOT, w.slice(0, -2)), { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(ROOT, w.slice(0, -2), d.name, 'package.json'))).map((d) => `${w.slice(0, -2)}/${d.name}`) : [w]));
    const ci = dockerfile.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(ci).toBeGreaterThan(0);
    const copiedBefore = dockerfile.slice(0, ci).filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const w of workspaces) expect(copiedBefore.some((a) => a.startsWith(`${w}/package.json `)), `${w}/package.json`).toBe(true);
    expect(copiedBefore.some((a) => a.startsWith('package.json package-lock.json'))).toBe(true);
  });

  it('the runtime stage runs as the non-root user the Deployment expects, the same command, on the port it probes', () => {
    const deployment = readYaml<IDeployment>(join(DEPLOY, 'k8s', 'base', 'deployment.yaml'));
    const container = deployment.spec!.template.spec!.containers[0]!;
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBe('node'); // uid 1000 in the official node images
    expect(deployment.spec!.template.spec!.securityContext?.runAsUser).toBe(1000);
    const cmd = JSON.parse(runtime.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd).toEqual([...(container.command ?? []), ...(container.args ?? [])]);
    expect(runtime.find((i) => i.op === 'WORKDIR')?.args).toBe(container.workingDir);
    expect(runtime.find((i) => i.op === 'EXPOSE')?.args).toBe(String(container.ports![0]!.containerPort));
    // The runtime copies built output only: no npm install there, and dev tools pruned in the build stage.
    expect(runtime.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args))).toBe(false);
    expect(dockerfile.some((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args))).toBe(true);
  });

  it('the build context leaves out node_modules, build output and local data', () => {
    const ignore = readFileSync(join(DEPLOY, 'docker', 'Dockerfile.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['**/node_modules', '**/dist', '.git', '**/.tickflow']) expect(ignore).toContain(p);
  });
});
