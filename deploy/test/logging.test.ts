// The log-shipping example of the deploy kit (deploy/logging/fluent-bit): no Fluent Bit or
// Vector binary is packaged for Debian here, so the pipeline is checked as data: the tail
// input reads the tickflow pods' container logs, every filter and output matches the
// input's tag, the JSON lines the server writes are what the kubernetes filter merges, the
// credentials come from the Secret template through the DaemonSet's environment, and the
// Kubernetes objects validate against their schemas (kubectl renders them where present).
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import type { IDaemonSet } from 'kubernetes-models/apps/v1';
import { ClusterRole, ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Secret, ServiceAccount } from 'kubernetes-models/v1';
import type { ISecret } from 'kubernetes-models/v1';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logDestination } from '../../examples/dashboard/src/server/serveCli.js';
import type { KubeObject } from './deployFiles.js';
import { DEPLOY, kubectlPath, kustomizationFiles, kustomizeBuild, readKustomization, readYaml, readYamlDocuments } from './deployFiles.js';

const DIR = join(DEPLOY, 'logging', 'fluent-bit');

type Section = Record<string, string | number | boolean>;
interface FluentBitConfig {
  service: Section;
  pipeline: { inputs: Section[]; filters: Section[]; outputs: Section[] };
}

const fb = readYaml<FluentBitConfig>(join(DIR, 'fluent-bit.yaml'));
const secret = readYaml<ISecret>(join(DIR, 'secret.template.yaml'));
const objects = kustomizationFiles(DIR).flatMap((f) => readYamlDocuments(f)) as KubeObject[];
const daemonSet = objects.find((o) => o.kind === 'DaemonSet') as unknown as IDaemonSet;
const container = daemonSet.spec!.template.spec!.containers[0]!;

/** Fluent Bit's tag and path wildcards (`*` any run of characters) as a RegExp. */
function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The container log file name the kubelet gives a container: <pod>_<namespace>_<container>-<64 hex>.log. */
const logFile = (pod: string, namespace: string, name: string) => `/var/log/containers/${pod}_${namespace}_${name}-${'a1'.repeat(32)}.log`;

describe('Fluent Bit log shipping (deploy/logging/fluent-bit)', () => {
  it('tails the container logs of the tickflow namespace only', () => {
    expect(fb.pipeline.inputs).toHaveLength(1);
    const input = fb.pipeline.inputs[0]!;
    expect(input.name).toBe('tail');
    const path = glob(String(input.path));
    expect(path.test(logFile('tickflow-7d9c8b6f5-x2x4q', 'tickflow', 'server'))).toBe(true);
    expect(path.test(logFile('redis-0', 'data', 'redis'))).toBe(false);
    // CRI records (containerd, CRI-O) and Docker's JSON files are unwrapped to the line the server wrote.
    expect(String(input['multiline.parser']).split(/,\s*/)).toEqual(['cri', 'docker']);
    // The position database and the log folder are volumes of the DaemonSet.
    const mounts = container.volumeMounts ?? [];
    expect(mounts.find((m) => m.mountPath === '/var/log')?.readOnly).toBe(true);
    expect(String(input.db).startsWith(mounts.find((m) => m.name === 'state')!.mountPath)).toBe(true);
  });

  it('sends what it reads through every filter to the output (the tags match)', () => {
    const tag = String(fb.pipeline.inputs[0]!.tag).replace('*', 'var.log.containers.tickflow-7d9c_tickflow_server-1.log');
    for (const step of [...fb.pipeline.filters, ...fb.pipeline.outputs]) expect(glob(String(step.match)).test(tag), `${step.name} matches ${tag}`).toBe(true);
    const k8s = fb.pipeline.filters.find((f) => f.name === 'kubernetes')!;
    expect(k8s).toMatchObject({ merge_log: 'on', keep_log: 'off' });
    expect(tag.startsWith(String(k8s.kube_tag_prefix))).toBe(true);
  });

  it('gets JSON objects with level, time and msg from the server, which the kubernetes filter merges into the record', () => {
    const lines: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
        done();
      },
    });
    // The server's own logger setup, as in a pod (stdout is no terminal: JSON).
    const log = pino({ level: 'info' }, logDestination({ stdout, env: {} }, 'auto'));
    log.warn({ reqId: 'r1', statusCode: 503 }, 'store unavailable');
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(record).toMatchObject({ level: 40, msg: 'store unavailable', reqId: 'r1', statusCode: 503 });
    expect(typeof record.time).toBe('number');
    // The level number gets a name by the modify filters.
    const named = fb.pipeline.filters.filter((f) => f.name === 'modify').map((f) => [String(f.condition).split(' ').at(-1), String(f.add).split(' ')[1]]);
    expect(named).toContainEqual(['40', 'warn']);
    expect(named.map((n) => n[0])).toEqual(['30', '40', '50', '60']);
  });

  it('ships to OpenSearch over TLS with daily indices, credentials from the Secret through the environment', () => {
    expect(fb.pipeline.outputs).toHaveLength(1);
    const out = fb.pipeline.outputs[0]!;
    expect(out).toMatchObject({ name: 'opensearch', tls: 'on', 'tls.verify': 'on', logstash_format: 'on', logstash_prefix: 'tickflow', suppress_type_name: 'on' });
    const env = new Map((container.env ?? []).map((e) => [e.name, e]));
    for (const field of ['host', 'port', 'http_user', 'http_passwd']) {
      const m = /^\$\{([A-Z_]+)\}$/.exec(String(out[field]));
      expect(m, `${field} is an environment reference`).not.toBeNull();
      expect(env.has(m![1]!), `${m![1]} is set on the container`).toBe(true);
    }
    for (const name of ['OPENSEARCH_USER', 'OPENSEARCH_PASSWORD']) {
      const ref = env.get(name)!.valueFrom!.secretKeyRef!;
      expect(ref.name).toBe(secret.metadata!.name);
      expect(Object.keys(secret.stringData!)).toContain(ref.key);
    }
    // The health endpoint the probes use is switched on.
    expect(fb.service).toMatchObject({ http_server: 'on', health_check: 'on', http_port: 2020 });
    expect(container.livenessProbe?.httpGet?.path).toBe('/api/v1/health');
  });

  it('mounts the generated ConfigMap where the container reads its config', () => {
    const k = readKustomization(DIR) as { configMapGenerator?: { name: string; files?: string[] }[] };
    expect(k.configMapGenerator).toEqual([{ name: 'fluent-bit-config', files: ['fluent-bit.yaml'] }]);
    const volume = daemonSet.spec!.template.spec!.volumes!.find((v) => v.configMap?.name === 'fluent-bit-config')!;
    const mount = container.volumeMounts!.find((m) => m.name === volume.name)!;
    expect(container.args).toEqual(['-c', `${mount.mountPath}/fluent-bit.yaml`]);
  });

  it('has Kubernetes objects that validate against their schemas', () => {
    const models: Record<string, new (data: never) => { validate(): void }> = {
      'v1/ServiceAccount': ServiceAccount,
      'apps/v1/DaemonSet': DaemonSet,
      'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
      'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
      'v1/ConfigMap': ConfigMap,
    };
    expect(objects.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'ServiceAccount']);
    for (const o of objects) new models[`${o.apiVersion}/${o.kind}`]!(o as never).validate();
    new Secret(secret).validate();
    const kubectl = kubectlPath();
    if (kubectl !== undefined) {
      const rendered = kustomizeBuild(kubectl, DIR);
      for (const o of rendered) new models[`${o.apiVersion}/${o.kind}`]!(o as never).validate();
      const cm = rendered.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string>; metadata: { name: string } };
      expect(cm.data['fluent-bit.yaml']).toContain('name: opensearch');
      const ds = rendered.find((o) => o.kind === 'DaemonSet') as unknown as IDaemonSet;
      expect(ds.spec!.template.spec!.volumes!.some((v) => v.configMap?.name === cm.metadata.name)).toBe(true);
    }
  });
});
