// The Kubernetes manifests of the deploy kit: every object validates against the Kubernetes
// schema (kubernetes-models), and the objects fit together and fit the server: probes on
// /readyz and /healthz at the container port, HPA → Deployment, Service/PDB → pod labels,
// Ingress stickiness and TLS, and every environment variable is a `tickflow serve` setting
// whose value the server's own config parser accepts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1';
import type { IConfigMap, IContainer, IProbe, ISecret, IService } from 'kubernetes-models/v1';
import { SETTINGS, configInput, parseRedisUrl, parseServerConfig } from '../../examples/dashboard/src/server/serverConfig.js';
import type { KubeObject } from './deployFiles.js';
import { DEPLOY, generatedConfig, kubectlPath, kustomizationFiles, kustomizeBuild, readEnvFile, readKustomization, readYaml, readYamlDocuments } from './deployFiles.js';

const BASE = join(DEPLOY, 'k8s', 'base');
const PRODUCTION = join(DEPLOY, 'k8s', 'overlays', 'production');
const SETTING_ENV = new Set(SETTINGS.flatMap((s) => (s.env === undefined ? [] : [s.env])));

/** kubernetes-models class per apiVersion/kind used by the kit. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
};

function validate(o: KubeObject): void {
  const Model = MODELS[`${o.apiVersion}/${o.kind}`];
  if (Model === undefined) throw new Error(`${o.kind} ${o.metadata?.name}: no schema for ${o.apiVersion}/${o.kind} in this test`);
  new Model(o as never).validate();
}

function one<T>(objects: readonly KubeObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  expect(found.map((o) => o.metadata.name), `one ${kind}`).toHaveLength(1);
  return found[0] as unknown as T;
}

/** Kubernetes quantities (cpu: 500m, 2; memory: 512Mi, 1Gi) as numbers. */
function quantity(q: string | number | undefined): number {
  if (q === undefined) throw new Error('missing quantity');
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (m === null) throw new Error(`unexpected quantity ${q}`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

function probePort(probe: IProbe | undefined, container: IContainer): number {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  const named = container.ports?.find((p) => p.name === port);
  if (named === undefined) throw new Error(`probe port ${String(port)} is not a container port`);
  return named.containerPort;
}

/**
 * The objects of base, rendered by kubectl when present, else read from the files with what
 * base's kustomization adds by hand: the namespace, the generated ConfigMap and the image.
 */
function baseObjects(kubectl: string | undefined): KubeObject[] {
  if (kubectl !== undefined) return kustomizeBuild(kubectl, BASE);
  const k = readKustomization(BASE);
  const objects = kustomizationFiles(BASE).flatMap((f) => readYamlDocuments(f) as KubeObject[]);
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    for (const c of (o as unknown as IDeployment).spec!.template.spec!.containers) {
      const image = k.images?.find((i) => i.name === c.image);
      if (image !== undefined) c.image = `${image.newName ?? image.name}:${image.newTag ?? 'latest'}`;
    }
  }
  const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tickflow-config', namespace: 'tickflow' }, data: Object.fromEntries(generatedConfig(BASE)) };
  return [...objects, configMap].map((o) => (o.kind === 'Namespace' ? o : { ...o, metadata: { ...o.metadata, namespace: k.namespace } }));
}

const kubectl = kubectlPath();
const secretTemplate = readYaml<ISecret & KubeObject>(join(DEPLOY, 'k8s', 'secret.template.yaml'));
const sets: [string, () => KubeObject[]][] = [['base', () => baseObjects(kubectl)]];
if (kubectl !== undefined) sets.push(['production overlay', () => kustomizeBuild(kubectl, PRODUCTION)]);

describe('kustomize sources', () => {
  it('every YAML file of deploy/k8s parses, and every resource and patch file exists', () => {
    const files = [...kustomizationFiles(BASE), join(BASE, 'kustomization.yaml'), join(PRODUCTION, 'kustomization.yaml'), join(DEPLOY, 'k8s', 'secret.template.yaml')];
    for (const p of readKustomization(PRODUCTION).patches ?? []) if (p.path !== undefined) files.push(join(PRODUCTION, p.path));
    for (const f of files) expect(readYamlDocuments(f).length, f).toBeGreaterThan(0);
  });

  it('the Secret template validates and names only server settings', () => {
    validate(secretTemplate);
    const keys = Object.keys(secretTemplate.stringData ?? {});
    expect(keys.sort()).toEqual(['DATABASE_URL', 'JWT_SECRET', 'TICKFLOW_USERS']);
    for (const k of keys) expect(SETTING_ENV, k).toContain(k);
  });

  it('every setting of base and production is a tickflow serve environment variable', () => {
    for (const dir of [BASE, PRODUCTION]) for (const key of generatedConfig(dir).keys()) expect(SETTING_ENV, `${dir}: ${key}`).toContain(key);
  });

  it('the production settings plus the Secret template pass the server config parser: Kafka, ClickHouse shards, Redis Sentinel', () => {
    const env = { ...Object.fromEntries(generatedConfig(PRODUCTION)), ...(secretTemplate.stringData ?? {}) };
    const config = parseServerConfig(configInput({}, env));
    expect(config.kafkaBrokers).toHaveLength(3);
    expect(config.clickhouseUrl).toHaveLength(3);
    expect(config.databaseUrl).toMatch(/^postgres:\/\//);
    const redis = parseRedisUrl(config.redisUrl ?? '');
    expect(redis?.mode).toBe('sentinel');
    expect(redis?.mode === 'sentinel' ? redis.sentinels : []).toHaveLength(3);
    expect(config.wsEntitlements.viewer).not.toContain('*');
    expect(config.guestAccess).toBe(false);
    expect(config.jwtSecret?.length).toBeGreaterThanOrEqual(32);
  });

  it('the base settings alone are a valid embedded-mode config', () => {
    const config = parseServerConfig(configInput({}, Object.fromEntries(readEnvFile(join(BASE, 'config.env')))));
    expect(config.kafkaBrokers).toBeUndefined();
    expect(config.clickhouseUrl).toBeUndefined();
    expect(config.port).toBe(3000);
  });

  it('the ServiceMonitor (prometheus-operator) selects the Service and its http port, with job="tickflow" as the alerts expect', () => {
    const service = readYaml<IService & KubeObject>(join(BASE, 'service.yaml'));
    const monitor = readYaml<KubeObject & { spec: { jobLabel: string; namespaceSelector: { matchNames: string[] }; selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } }>(join(DEPLOY, 'prometheus', 'servicemonitor.yml'));
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.spec.namespaceSelector.matchNames).toContain(readKustomization(BASE).namespace);
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) expect(service.metadata.labels?.[k], k).toBe(v);
    expect(service.metadata.labels?.[monitor.spec.jobLabel]).toBe('tickflow');
    for (const e of monitor.spec.endpoints) {
      expect(service.spec!.ports!.map((p) => p.name)).toContain(e.port);
      expect(e.path).toBe('/metrics');
    }
  });

  it.skipIf(kubectl === undefined)('kubectl kustomize renders base and production (kubectl present on this machine)', () => {
    expect(kustomizeBuild(kubectl!, BASE).length).toBeGreaterThan(5);
    expect(kustomizeBuild(kubectl!, PRODUCTION).length).toBeGreaterThan(5);
  });
});

describe.each(sets)('%s', (_name, render) => {
  const objects = render();
  const deployment = one<IDeployment & KubeObject>(objects, 'Deployment');
  const pod = deployment.spec!.template.spec!;
  const container = pod.containers.find((c) => c.name === 'server')!;
  const configMaps = objects.filter((o) => o.kind === 'ConfigMap') as (IConfigMap & KubeObject)[];
  const config = configMaps.find((c) => container.envFrom?.some((e) => e.configMapRef?.name === c.metadata.name));
  const port = Number(config?.data?.PORT ?? 3000);
  const podLabels = deployment.spec!.template.metadata!.labels!;

  it('every object validates against the Kubernetes schema and sits in the tickflow namespace', () => {
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'Ingress', 'Namespace', 'PodDisruptionBudget', 'Service']);
    for (const o of objects) {
      validate(o);
      if (o.kind === 'Namespace') expect(o.metadata.name).toBe('tickflow');
      else expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('tickflow');
    }
  });

  it('the container runs tickflow serve on all interfaces, the image is set, replicas are left to the HPA', () => {
    expect([...(container.command ?? []), ...(container.args ?? [])].join(' ')).toBe('node examples/dashboard/dist/cli.js serve --host 0.0.0.0');
    expect(container.image).toMatch(/^[\w.-]+(:\d+)?\/[\w./-]+:[\w.-]+$/);
    expect(deployment.spec!.replicas).toBeUndefined();
  });

  it('probes: readiness on /readyz, liveness and startup on /healthz, all at the port the server listens on', () => {
    expect(config, 'the ConfigMap the container reads').toBeDefined();
    expect(container.ports?.find((p) => p.name === 'http')?.containerPort).toBe(port);
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.startupProbe?.httpGet?.path).toBe('/healthz');
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) expect(probePort(probe, container)).toBe(port);
    // The startup probe gives the server longer than liveness would (store connections, Kafka group join).
    const startup = container.startupProbe!;
    expect((startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)).toBeGreaterThanOrEqual(60);
    expect(pod.containers.every((c) => c.name === 'server')).toBe(true);
    const annotations = deployment.spec!.template.metadata!.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(port);
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('environment: every variable is a server setting, from the ConfigMap or the Secret template', () => {
    for (const key of Object.keys(config?.data ?? {})) expect(SETTING_ENV, `ConfigMap key ${key}`).toContain(key);
    const secretKeys = Object.keys(secretTemplate.stringData ?? {});
    for (const e of container.env ?? []) {
      expect(SETTING_ENV, `env ${e.name}`).toContain(e.name);
      const ref = e.valueFrom?.secretKeyRef;
      expect(ref, `${e.name} comes from the Secret`).toBeDefined();
      expect(ref!.name).toBe(secretTemplate.metadata.name);
      expect(secretKeys).toContain(ref!.key);
    }
    expect((container.env ?? []).map((e) => e.name).sort()).toEqual(['DATABASE_URL', 'JWT_SECRET', 'TICKFLOW_USERS']);
    expect(container.envFrom?.map((e) => e.configMapRef?.name)).toEqual([config!.metadata.name]);
  });

  it('resources: requests and limits for CPU and memory, limits not below requests', () => {
    const r = container.resources!;
    for (const k of ['cpu', 'memory'] as const) {
      expect(quantity(r.requests?.[k])).toBeGreaterThan(0);
      expect(quantity(r.limits?.[k])).toBeGreaterThanOrEqual(quantity(r.requests?.[k]));
    }
  });

  it('security: non-root, read-only root filesystem, no privilege escalation, the data dir on an emptyDir', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    const sc = container.securityContext!;
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.capabilities?.drop).toContain('ALL');
    const dataDir = config?.data?.TICKFLOW_DATA_DIR;
    expect(dataDir).toBeDefined();
    const mount = container.volumeMounts?.find((m) => m.mountPath === dataDir);
    expect(mount, `a volume at TICKFLOW_DATA_DIR ${dataDir}`).toBeDefined();
    expect(pod.volumes?.find((v) => v.name === mount!.name)?.emptyDir).toBeDefined();
    expect(container.volumeMounts?.find((m) => m.mountPath === '/tmp'), 'a writable /tmp').toBeDefined();
  });

  it('shutdown: the grace period covers the preStop sleep plus the server shutdown (≥ 30 s)', () => {
    const command = container.lifecycle?.preStop?.exec?.command ?? [];
    expect(command[0]).toBe('sleep');
    const sleep = Number(command[1]);
    // Long enough for the endpoint removal to reach the ingress controllers before the listener closes.
    expect(sleep).toBeGreaterThanOrEqual(5);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(sleep + 30);
  });

  it('Service and PodDisruptionBudget select the Deployment pods; the Service port reaches the container port', () => {
    const service = one<IService & KubeObject>(objects, 'Service');
    for (const [k, v] of Object.entries(service.spec!.selector!)) expect(podLabels[k], k).toBe(v);
    for (const [k, v] of Object.entries(deployment.spec!.selector.matchLabels!)) expect(podLabels[k], k).toBe(v);
    const sp = service.spec!.ports!.find((p) => p.name === 'http')!;
    expect(sp.targetPort === 'http' || sp.targetPort === port).toBe(true);
    const pdb = one<IPodDisruptionBudget & KubeObject>(objects, 'PodDisruptionBudget');
    for (const [k, v] of Object.entries(pdb.spec!.selector!.matchLabels!)) expect(podLabels[k], k).toBe(v);
  });

  it('HPA: targets the Deployment, scales on CPU and on WebSocket connections per pod, keeps the PDB satisfiable', () => {
    const hpa = one<IHorizontalPodAutoscaler & KubeObject>(objects, 'HorizontalPodAutoscaler');
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
    const min = hpa.spec!.minReplicas ?? 1;
    expect(min).toBeGreaterThanOrEqual(2);
    expect(hpa.spec!.maxReplicas).toBeGreaterThan(min);
    const metrics = hpa.spec!.metrics ?? [];
    expect(metrics.find((m) => m.type === 'Resource')?.resource?.name).toBe('cpu');
    expect(container.resources?.requests?.cpu, 'CPU utilization needs a CPU request').toBeDefined();
    const ws = metrics.find((m) => m.type === 'Pods');
    expect(ws?.pods?.metric.name).toBe('tickflow_ws_connections');
    expect(quantity(ws?.pods?.target.averageValue)).toBeGreaterThan(0);
    const pdb = one<IPodDisruptionBudget & KubeObject>(objects, 'PodDisruptionBudget');
    expect(Number(pdb.spec!.maxUnavailable)).toBeLessThan(min);
  });

  it('Ingress: cookie affinity, long WebSocket timeouts, unbuffered /events, TLS for every host via cert-manager', () => {
    const ingress = one<IIngress & KubeObject>(objects, 'Ingress');
    const a = ingress.metadata.annotations ?? {};
    const nginx = (k: string) => a[`nginx.ingress.kubernetes.io/${k}`];
    expect(nginx('affinity')).toBe('cookie');
    expect(nginx('session-cookie-name')).toMatch(/\w/);
    expect(Number(nginx('proxy-read-timeout'))).toBeGreaterThanOrEqual(3600);
    expect(Number(nginx('proxy-send-timeout'))).toBeGreaterThanOrEqual(3600);
    expect(nginx('proxy-buffering')).toBe('off');
    expect(a['cert-manager.io/cluster-issuer'] ?? a['cert-manager.io/issuer']).toMatch(/\w/);
    expect(ingress.spec!.ingressClassName).toBe('nginx');
    const tls = ingress.spec!.tls ?? [];
    expect(tls.length).toBeGreaterThan(0);
    const tlsHosts = tls.flatMap((t) => {
      expect(t.secretName).toMatch(/\w/);
      return t.hosts ?? [];
    });
    const service = one<IService & KubeObject>(objects, 'Service');
    for (const rule of ingress.spec!.rules ?? []) {
      expect(tlsHosts).toContain(rule.host);
      for (const p of rule.http!.paths) {
        expect(p.backend.service?.name).toBe(service.metadata.name);
        expect(service.spec!.ports!.map((sp) => sp.name)).toContain(p.backend.service?.port?.name);
      }
    }
  });
});
