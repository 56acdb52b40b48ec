/**
 * `pharos`: one CLI, a subcommand per component, `all` for everything in one process, and tools.
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfigOrExit } from './runtime.js';

const program = new Command();
program
  .name('pharos')
  .description('Pharos: log and metric shippers → Kafka → real-time store and ClickHouse warehouse → live dashboard and alerting.')
  .showHelpAfterError();

const configOption = ['-c, --config <file>', 'YAML config file (also PHAROS_CONFIG); PHAROS_* environment variables override it'] as const;

program
  .command('all')
  .description('Run every component in one process: collector, pipeline, dashboard (http://127.0.0.1:8080) and alerts, with the embedded ClickHouse engine under data_dir. The bus: kafka.brokers if set, else a local Kafka broker (Java 17+), else an in-process hand-off.')
  .option(...configOption)
  .action(async (o) => (await import('./commands/all.js')).runAll(o));

program
  .command('collector')
  .description('Run the host agent: tails the configured files (parsed, redacted) to Kafka (pharos.logs) and publishes host metrics (pharos.metrics). Serves /healthz, /readyz and /metrics on collector.listen (default 127.0.0.1:4318). Needs kafka.brokers.')
  .option(...configOption)
  .action(async (o) => (await import('./commands/collector.js')).runCollector(o));

program
  .command('pipeline')
  .description('Run the Kafka consumers: the warehouse writer (pharos.logs and pharos.metrics → ClickHouse, exactly once; runs schema migrations first) and the real-time store with its Prometheus-compatible query API (/api/v1/*) on pipeline.listen (default 127.0.0.1:9464). Needs kafka.brokers.')
  .option(...configOption)
  .action(async (o) => (await import('./commands/pipeline.js')).runPipeline(o));

program
  .command('dashboard')
  .description('Run the dashboard: the React app and its API (GET /api/logs, WebSocket /api/live) on dashboard.listen (default 127.0.0.1:8080), reading the ClickHouse warehouse.')
  .option(...configOption)
  .action(async (o) => (await import('./commands/dashboard.js')).runDashboard(o));

program
  .command('alerts')
  .description('Run the alerts component: a real-time store replica fed from pharos.metrics, the rules of alerts.rule_files and the shipped defaults evaluated over it, notification (routes, grouping, inhibition, silences, webhook/Slack/PagerDuty/e-mail) and its API on alerts.listen (default 127.0.0.1:9093). Needs kafka.brokers.')
  .option(...configOption)
  .action(async (o) => (await import('./commands/alerts.js')).runAlerts(o));

program
  .command('kafka')
  .description('Run a local single-node Apache Kafka 3.9 broker (KRaft) for development: fetched from Maven Central with mvn into a cache outside git, storage formatted once, listening on loopback. Ctrl-C stops it cleanly.')
  .option(...configOption)
  .option('-p, --port <port>', 'broker port (default: kafka.local.port, 19092)')
  .option('--controller-port <port>', 'KRaft controller port (default: kafka.local.controller_port, 19093)')
  .option('-d, --data-dir <dir>', 'broker data directory (default: <data_dir>/kafka)')
  .action(async (o: { config?: string; port?: string; controllerPort?: string; dataDir?: string }) => {
    const config = loadConfigOrExit(o.config);
    const { createLogger } = await import('../core/log.js');
    const { defaultKafkaCacheDir } = await import('../core/kafka/local-broker.js');
    const { runKafka } = await import('./commands/kafka.js');
    await runKafka({
      version: config.kafka.local.version,
      port: o.port ? Number(o.port) : config.kafka.local.port,
      controllerPort: o.controllerPort ? Number(o.controllerPort) : config.kafka.local.controller_port,
      cacheDir: config.kafka.local.cache_dir ?? defaultKafkaCacheDir(),
      dataDir: resolve(o.dataDir ?? resolve(config.data_dir, 'kafka')),
      log: createLogger({ level: config.log.level }),
    });
  });

program
  .command('chaos')
  .description('Run the stack as separate processes on a local Kafka broker, feed it numbered log lines and metric samples, inject faults (kill, restart, pause the broker, pipeline, collector, alert evaluator; rotate files under load), then check that every line and sample was stored exactly once and the chaos alert paged once and resolved once. Exits 0 when nothing was lost, repeated or missed, 1 when something was, 2 when the run could not complete.')
  .option('-s, --scenario <name|file>', 'built-in scenario (ci: ~3 min, standard: ~7 min) or a YAML scenario file', 'ci')
  .option('--work-dir <dir>', 'where process logs and data go (default: a new temporary directory)')
  .option('--json', 'print the report as JSON')
  .option('--break-deduplication', 'self-test of the checks: the pipeline inserts without deduplication tokens, so the run must fail')
  .action(async (o) => (await import('./commands/chaos.js')).runChaosCommand(o));

const configCmd = program.command('config').description('Configuration tools.');
configCmd
  .command('check')
  .description('Validate a config file (and PHAROS_* overrides) without starting anything; prints every problem with its key and line; exit code 1 on any.')
  .argument('<file>', 'YAML config file')
  .action(async (file: string) => {
    const { runConfigCheck } = await import('./commands/config-check.js');
    process.exitCode = runConfigCheck(file);
  });

const authCmd = program.command('auth').description('Credential tools: hashes for auth.tokens and auth.users, read from stdin (never from arguments, which ps shows).');
authCmd
  .command('new-token')
  .description('Print a new random API token and the token_sha256 to put in auth.tokens (keep the token, give it to the client).')
  .action(async () => {
    const { randomBytes } = await import('node:crypto');
    const { hashToken } = await import('../core/http/auth.js');
    const token = `pharos_${randomBytes(24).toString('base64url')}`;
    process.stdout.write(`token: ${token}\ntoken_sha256: ${hashToken(token)}\n`);
  });
authCmd
  .command('hash-token')
  .description('Read a token from stdin and print its token_sha256 for auth.tokens.')
  .action(async () => {
    const { hashToken } = await import('../core/http/auth.js');
    const { readSecretFromStdin } = await import('../core/http/passwords.js');
    process.stdout.write(`${hashToken(await readSecretFromStdin())}\n`);
  });
authCmd
  .command('hash-password')
  .description('Read a password from stdin and print its scrypt hash for auth.users[].password_hash.')
  .action(async () => {
    const { hashPassword, readSecretFromStdin } = await import('../core/http/passwords.js');
    process.stdout.write(`${await hashPassword(await readSecretFromStdin())}\n`);
  });

const spoolCmd = program.command('spool').description("The collector's disk spool.");
spoolCmd
  .command('inspect')
  .description('List the segments of a collector spool directory (default <data_dir>/collector/spool): state (active, sealed, quarantined), batch and record counts, bytes, oldest and newest sequence. Read-only.')
  .argument('<dir>', 'spool directory')
  .option('--json', 'print the report as JSON')
  .action(async (dir: string, o: { json?: boolean }) => {
    const { runSpoolInspect } = await import('./commands/spool.js');
    process.exitCode = await runSpoolInspect(dir, o);
  });

const rulesCmd = program.command('rules').description('Alert rule tools.');
rulesCmd
  .command('check')
  .description('Validate Prometheus-format rule files like `promtool check rules`; exit code 1 on any error.')
  .argument('<files...>', 'rule files')
  .action(async (files: string[]) => {
    const { parseRuleFile } = await import('../alerts/rules/rule-file.js');
    let failed = false;
    for (const file of files) {
      let result;
      try {
        result = parseRuleFile(file);
      } catch (err) {
        process.stderr.write(`${file}: ${(err as Error).message}\n`);
        failed = true;
        continue;
      }
      if (result.issues.length) {
        failed = true;
        for (const i of result.issues) process.stderr.write(`${i.file}${i.line ? `:${i.line}` : ''}: ${i.message}\n`);
      } else {
        const n = result.rules?.groups.reduce((m, g) => m + g.rules.length, 0) ?? 0;
        process.stdout.write(`${file}: SUCCESS: ${n} rules found\n`);
      }
    }
    process.exitCode = failed ? 1 : 0;
  });

await program.parseAsync(process.argv);
