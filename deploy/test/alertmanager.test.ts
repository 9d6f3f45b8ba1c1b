// Alert delivery of the deploy kit: deploy/alertmanager/alertmanager.yml checked by amtool
// (Debian's prometheus-alertmanager package): the config is valid, every alert rule of
// deploy/prometheus/alerts.yml reaches the receivers its severity asks for, the credentials
// are files named after the keys of the Secret template, and the Operator's
// AlertmanagerConfig routes the same way with the same Secret keys.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret } from 'kubernetes-models/v1';
import type { ISecret } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebianPrograms } from '@tickflow/test-services';
import { DEPLOY, readYaml } from './deployFiles.js';

const AM = join(DEPLOY, 'alertmanager');
const AMTOOL = '/usr/bin/amtool';
const SECRETS_DIR = '/etc/alertmanager/secrets/';

interface AmRoute {
  receiver?: string;
  matchers?: string[];
  continue?: boolean;
  routes?: AmRoute[];
}
interface AmConfig {
  global: Record<string, unknown>;
  route: AmRoute;
  receivers: { name: string; slack_configs?: Record<string, unknown>[]; pagerduty_configs?: Record<string, unknown>[] }[];
  inhibit_rules: unknown[];
}
interface CrdMatcher {
  name: string;
  matchType?: string;
  value: string;
}
interface CrdRoute {
  receiver: string;
  matchers?: CrdMatcher[];
  continue?: boolean;
  routes?: CrdRoute[];
}
interface AlertmanagerConfigCrd {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: {
    route: CrdRoute;
    receivers: { name: string; slackConfigs?: Record<string, unknown>[]; pagerdutyConfigs?: Record<string, unknown>[] }[];
    inhibitRules: unknown[];
  };
}

const config = readYaml<AmConfig>(join(AM, 'alertmanager.yml'));
const crd = readYaml<AlertmanagerConfigCrd>(join(AM, 'alertmanagerconfig.yaml'));
const secret = readYaml<ISecret>(join(AM, 'secret.template.yaml'));
const rules = readYaml<{ groups: { rules: { alert: string; labels: { severity: string } }[] }[] }>(join(DEPLOY, 'prometheus', 'alerts.yml'));
const alerts = rules.groups.flatMap((g) => g.rules);
const EXPECTED: Record<string, string> = { critical: 'pagerduty,slack-critical', warning: 'slack' };

/** Process ids of running `alertmanager` servers (from /proc). */
function alertmanagerDaemons(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        // Debian's binary is prometheus-alertmanager; comm holds the first 15 characters.
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        return comm === 'prometheus-aler' || comm === 'alertmanager';
      } catch {
        return false;
      }
    })
    .map(Number);
}

function amtool(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(AMTOOL, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Every `*_file` value in a config tree. */
function fileFields(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => fileFields(v, out));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.endsWith('_file') && typeof v === 'string') out.push(v);
      else fileFields(v, out);
    }
  }
  return out;
}

/** The Secret key references ({ name, key }) in an AlertmanagerConfig tree. */
function secretRefs(value: unknown, out: { name: string; key: string }[] = []): { name: string; key: string }[] {
  if (Array.isArray(value)) value.forEach((v) => secretRefs(v, out));
  else if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.name === 'string' && typeof o.key === 'string' && Object.keys(o).length === 2) out.push({ name: o.name, key: o.key });
    else Object.values(o).forEach((v) => secretRefs(v, out));
  }
  return out;
}

describe('Alertmanager configuration (amtool)', () => {
  let dir: string;
  let before: Set<number>;

  beforeAll(async () => {
    before = new Set(alertmanagerDaemons());
    await ensureDebianPrograms([{ binary: AMTOOL, pkg: 'prometheus-alertmanager' }], 'PATH');
    // Where policy-rc.d does not forbid it, installing the package starts its service: stop what it started.
    if (alertmanagerDaemons().some((pid) => !before.has(pid))) spawnSync('service', ['prometheus-alertmanager', 'stop'], { encoding: 'utf8' });
    dir = mkdtempSync(join(tmpdir(), 'tickflow-amtool-'));
  }, 600_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('installing amtool left no alertmanager running', () => {
    expect(alertmanagerDaemons().filter((pid) => !before.has(pid))).toEqual([]);
  });

  it('amtool check-config: the kit config is valid, and a broken copy is not', () => {
    const ok = amtool(['check-config', join(AM, 'alertmanager.yml')]);
    expect(ok.out).toContain('SUCCESS');
    expect(ok.out).toMatch(/3 receivers/);
    expect(ok.status).toBe(0);
    // amtool really checks: a receiver a route names but nobody defines fails.
    const broken = readFileSync(join(AM, 'alertmanager.yml'), 'utf8').replace('receiver: slack-critical', 'receiver: slack-critcal');
    writeFileSync(join(dir, 'broken.yml'), broken);
    const bad = amtool(['check-config', join(dir, 'broken.yml')]);
    expect(bad.status).not.toBe(0);
    expect(bad.out).toContain('slack-critcal');
  });

  it('routes every alert rule of the kit by severity: critical pages (PagerDuty) and posts to the on-call channel, warnings post to Slack', () => {
    expect(alerts.length).toBeGreaterThan(5);
    for (const a of alerts) {
      const want = EXPECTED[a.labels.severity];
      expect(want, `${a.alert}: severity ${a.labels.severity} has a route`).toBeDefined();
      const r = amtool(['config', 'routes', 'test', `--config.file=${join(AM, 'alertmanager.yml')}`, `--verify.receivers=${want}`, `alertname=${a.alert}`, `severity=${a.labels.severity}`, 'namespace=tickflow']);
      expect(r.out.trim().split('\n').filter((l) => !l.startsWith('Warning:')), a.alert).toEqual([want]);
      expect(r.status, `${a.alert}: ${r.out}`).toBe(0);
    }
  });

  it('reads every credential from a file named after a key of the Secret template', () => {
    new Secret(secret).validate();
    const files = fileFields(config);
    expect(files.sort()).toEqual(['/etc/alertmanager/secrets/pagerduty-routing-key', '/etc/alertmanager/secrets/slack-webhook-url']);
    for (const f of files) {
      expect(f.startsWith(SECRETS_DIR)).toBe(true);
      expect(Object.keys(secret.stringData ?? {})).toContain(f.slice(SECRETS_DIR.length));
    }
    // No credential written inline.
    expect(JSON.stringify(config)).not.toMatch(/hooks\.slack\.com|routing_key"|api_url"/);
  });

  it('gives the Prometheus Operator the same receivers, channels, routes and Secret keys (AlertmanagerConfig)', () => {
    expect([crd.apiVersion, crd.kind]).toEqual(['monitoring.coreos.com/v1alpha1', 'AlertmanagerConfig']);
    expect(crd.metadata.namespace).toBe(secret.metadata?.namespace);
    expect(crd.spec.receivers.map((r) => r.name)).toEqual(config.receivers.map((r) => r.name));
    for (const r of config.receivers) {
      const c = crd.spec.receivers.find((x) => x.name === r.name)!;
      expect((c.slackConfigs ?? []).map((s) => [s.channel, s.title, s.text])).toEqual((r.slack_configs ?? []).map((s) => [s.channel, s.title, s.text]));
      expect((c.pagerdutyConfigs ?? []).map((p) => p.severity)).toEqual((r.pagerduty_configs ?? []).map((p) => p.severity));
    }
    const refs = secretRefs(crd.spec.receivers);
    expect(refs).toHaveLength(3);
    for (const ref of refs) {
      expect(ref.name).toBe(secret.metadata?.name);
      expect(Object.keys(secret.stringData ?? {})).toContain(ref.key);
    }
    // Same tree: the Operator scopes to the namespace, the top matcher keeps tickflow's alerts.
    const flat = (r: CrdRoute): string[] => (r.routes ?? []).map((x) => `${x.receiver}|${(x.matchers ?? []).map((m) => `${m.name}${m.matchType ?? '='}"${m.value}"`).join(',')}|${x.continue === true}`);
    const amFlat = (config.route.routes ?? []).map((x) => `${x.receiver}|${(x.matchers ?? []).filter((m) => !m.startsWith('alertname')).join(',')}|${x.continue === true}`).filter((x) => !x.startsWith('slack||'));
    expect(flat(crd.spec.route)).toEqual(amFlat);
    expect(crd.spec.route.matchers).toEqual([{ name: 'alertname', matchType: '=~', value: 'Tickflow.*' }]);
  });
});
