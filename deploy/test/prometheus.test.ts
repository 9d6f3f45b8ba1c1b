// Prometheus files of the deploy kit checked by promtool (Debian's `prometheus` package):
// the scrape config inside a full prometheus.yml, the alert rules, and the rules' unit tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureDebianPrograms } from '@tickflow/test-services';
import { DEPLOY, ROOT, readYaml } from './deployFiles.js';

const PROM = join(DEPLOY, 'prometheus');
const PROMTOOL = '/usr/bin/promtool';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}

/** Process ids of running `prometheus` servers (from /proc). */
function prometheusDaemons(): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'prometheus';
      } catch {
        return false;
      }
    })
    .map(Number);
}

function promtool(args: string[], cwd = PROM): { status: number | null; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const rules = readYaml<RuleFile>(join(PROM, 'alerts.yml'));
const alerts = rules.groups.flatMap((g) => g.rules);

describe('Prometheus rules and scrape config (promtool)', () => {
  let dir: string;
  let before: Set<number>;

  beforeAll(async () => {
    before = new Set(prometheusDaemons());
    await ensureDebianPrograms([{ binary: PROMTOOL, pkg: 'prometheus' }], 'PATH');
    // Debian's package enables a prometheus service; where policy-rc.d does not forbid it, the
    // install starts one. Stop what the install started (by its init script), or say so.
    const started = prometheusDaemons().filter((pid) => !before.has(pid));
    if (started.length > 0) {
      spawnSync('service', ['prometheus', 'stop'], { encoding: 'utf8' });
      const left = prometheusDaemons().filter((pid) => !before.has(pid));
      if (left.length > 0) throw new Error(`installing Debian's prometheus package started a prometheus server (pids ${left.join(', ')}) that \`service prometheus stop\` did not stop`);
    }
    dir = mkdtempSync(join(tmpdir(), 'tickflow-promtool-'));
  }, 600_000);

  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('installing promtool left no prometheus server running', () => {
    expect(prometheusDaemons().filter((pid) => !before.has(pid))).toEqual([]);
  });

  it('promtool check config: a prometheus.yml with the kit scrape config and the alert rules', () => {
    const scrape = readYaml<{ scrape_configs: ({ job_name: string; kubernetes_sd_configs?: { role: string }[] } & Record<string, unknown>)[] }>(join(PROM, 'scrape.yml'));
    expect(scrape.scrape_configs.map((s) => s.job_name)).toEqual(['tickflow']);
    expect(scrape.scrape_configs[0]!.kubernetes_sd_configs?.map((c) => c.role)).toEqual(['pod']);
    writeFileSync(join(dir, 'alerts.yml'), readFileSync(join(PROM, 'alerts.yml')));
    const write = (scrapeConfigs: unknown) => writeFileSync(join(dir, 'prometheus.yml'), stringify({ global: { scrape_interval: '15s', evaluation_interval: '30s' }, rule_files: ['alerts.yml'], scrape_configs: scrapeConfigs }));
    write(scrape.scrape_configs);
    let r = promtool(['check', 'config', 'prometheus.yml'], dir);
    if (r.status !== 0 && r.out.includes('field kubernetes_sd_configs not found')) {
      // Debian builds Prometheus without Kubernetes service discovery: check everything else
      // (relabelling, intervals, rule files) as written, with the discovery swapped for a static target.
      write(scrape.scrape_configs.map(({ kubernetes_sd_configs: _sd, ...rest }) => ({ ...rest, static_configs: [{ targets: ['127.0.0.1:3000'] }] })));
      r = promtool(['check', 'config', 'prometheus.yml'], dir);
    }
    expect(r.out).toContain('SUCCESS');
    expect(r.status, r.out).toBe(0);
  });

  it('promtool check rules: alerts.yml', () => {
    const r = promtool(['check', 'rules', 'alerts.yml']);
    expect(r.out).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(r.status, r.out).toBe(0);
  });

  it('promtool test rules: alerts.test.yml passes, and every alert has a test case', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(r.out).toContain('SUCCESS');
    expect(r.status, r.out).toBe(0);
    const tests = readYaml<{ tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }>(join(PROM, 'alerts.test.yml'));
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname)));
    const quiet = new Set(tests.tests.flatMap((t) => t.alert_rule_test.filter((a) => a.exp_alerts.length === 0).map((a) => a.alertname)));
    for (const a of alerts) {
      expect(firing, `${a.alert} has a case where it fires`).toContain(a.alert);
      expect(quiet, `${a.alert} has a case where it does not fire`).toContain(a.alert);
    }
  });

  it('every alert has a severity, a summary and a description, and docs/deploy.md explains it', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    for (const a of alerts) {
      expect(['warning', 'critical']).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toMatch(/\w/);
      expect(a.annotations?.description, a.alert).toMatch(/\w/);
      expect(docs, `docs/deploy.md mentions ${a.alert}`).toContain(a.alert);
    }
  });

  it('the PrometheusRule (prometheus-operator) carries exactly the groups of alerts.yml', () => {
    const rule = readYaml<{ apiVersion: string; kind: string; metadata: { namespace: string }; spec: RuleFile }>(join(PROM, 'prometheusrule.yml'));
    expect(rule.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(rule.kind).toBe('PrometheusRule');
    expect(rule.spec.groups).toEqual(rules.groups);
  });
});
