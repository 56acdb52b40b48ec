/**
 * The one configuration schema of every Pharos process. Strict objects everywhere: an unknown
 * key is an error that names it, never silently ignored (a typo in `batch_rows` must not run
 * with the default). Defaults make `pharos all` work with no file at all.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { notifyConfigSchema } from '../../alerts/notify/config.js';
import { collectorResourceSchema, filterConfigSchema, inputAttributesSchema } from '../../collector/transforms/filter-config.js';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]*):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8080');

const role = z.enum(['viewer', 'operator', 'analyst', 'admin']);

const labelScope = z.strictObject({
  /** `service.name` values (the `job` label of metrics). */
  service: z.array(z.string().min(1)).min(1).optional(),
  /** `deployment.environment` values (the `deployment_environment` label of metrics). */
  environment: z.array(z.string().min(1)).min(1).optional(),
});

const tokenEntry = z
  .strictObject({
    name: z.string().min(1),
    role,
    /** SHA-256 hex of the token: what should be in a config file. */
    token_sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters').optional(),
    /** A file holding the token in clear (mounted secret); hashed at load, never logged. */
    token_file: z.string().optional(),
    /** The token in clear; accepted for development, prefer token_sha256. */
    token: z.string().min(16, 'a token needs at least 16 characters').optional(),
    /** Label scope: when set, this token sees only these services / environments (core/http/scope.ts). */
    scope: labelScope.optional(),
  })
  .refine((t) => [t.token_sha256, t.token_file, t.token].filter(Boolean).length === 1, {
    message: 'set exactly one of token_sha256, token_file, token',
  });

/** A person signing in to the dashboard with a password (`POST /api/login`); API clients use tokens. */
const userEntry = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'expected a user name of letters, digits, _ . @ -'),
  role,
  /** From `pharos auth hash-password`: scrypt$N$r$p$salt$hash. Never the password itself. */
  password_hash: z
    .string()
    .regex(/^scrypt\$\d{1,7}\$\d{1,3}\$\d{1,3}\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/, 'expected the output of `pharos auth hash-password` (scrypt$N$r$p$salt$hash)'),
  scope: labelScope.optional(),
});

const fileInput = z.strictObject({
  /** Glob patterns of files to tail. */
  include: z.array(z.string().min(1)).min(1),
  exclude: z.array(z.string()).default([]),
  /** `service.name` of the records read from these files. */
  service: z.string().min(1).default('file'),
  /** Where to start a file seen for the first time. */
  start_at: z.enum(['beginning', 'end']).default('end'),
  /** Lines longer than this are cut and flagged `log.truncated`. */
  max_line_bytes: z.number().int().min(256).max(800 * 1024, "at most 800 KiB: a record must fit in one Kafka message").default(256 * 1024),
  /**
   * How a line becomes a record: `plain` (the line is the body, severity from a level keyword),
   * `json` (one object per line), `logfmt`, or `regex` (`pattern`). A line that does not parse is
   * shipped whole, tagged `log.parse_error`.
   */
  parser: z.enum(['plain', 'json', 'logfmt', 'regex']).default('plain'),
  /** For `parser: regex`: named groups become fields; groups `message`, `time` and `level` fill the record's own. */
  pattern: z.string().min(1).optional(),
  /** Field holding the message. Default: json and logfmt try msg, message, log, body; regex uses group `message`. */
  message_key: z.string().min(1).optional(),
  /** Field holding the event time. Default: time, timestamp, ts, @timestamp (regex: `time`). */
  time_key: z.string().min(1).optional(),
  /** Field holding the level. Default: level, severity, lvl (regex: `level`). */
  level_key: z.string().min(1).optional(),
  /**
   * Log attributes on every record of this input: set over parsed fields of the same name, under
   * Pharos's own (`log.file.*`, `pharos.*`). Optional rather than defaulted so code building an
   * input by hand need not spell it; absent means none.
   */
  attributes: inputAttributesSchema.optional(),
  /** Drop/keep rules for this input's records, before `collector.filters` (collector/transforms/filter-config.ts). */
  filters: filterConfigSchema.optional(),
  /**
   * How the time field reads: `rfc3339` (also epoch numbers, unit by magnitude), `unix_s`,
   * `unix_ms`, `unix_ns`, or a strftime-like pattern such as `%d/%b/%Y:%H:%M:%S %z`. Text without
   * a zone is UTC. Not used by `plain`, whose records carry the observed time.
   */
  time_format: z
    .string()
    .min(1)
    .default('rfc3339')
    .refine((f) => timeFormatProblem(f) === undefined, { error: (i) => timeFormatProblem(String(i.input)) ?? 'invalid' }),
  /**
   * Records of several lines (stack traces, tracebacks): a line matching `start_pattern` starts a
   * record, every other line continues the one in progress (collector/sources/multiline.ts).
   */
  multiline: z
    .strictObject({
      /** A JavaScript regular expression, e.g. `^\d{4}-\d{2}-\d{2}` or `^\S` (a line not indented). */
      start_pattern: z
        .string()
        .min(1)
        .refine((r) => compiles(r), { error: (i) => `does not compile: ${compileError(String(i.input))}` }),
      /** A record closes at this many lines; the lines after it continue in a new record. */
      max_lines: z.number().int().min(1).default(500),
      /** A record waits this long for its next line before it ships as it is. */
      timeout_ms: z.number().int().min(1).default(1000),
    })
    .optional(),
}).superRefine((v, ctx) => {
  if (v.parser === 'regex' && v.pattern === undefined) {
    ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'parser regex needs a pattern with named groups, e.g. (?<level>\\w+) (?<message>.*)' });
  }
  if (v.pattern !== undefined) {
    const problem = regexPatternProblem(v.pattern);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['pattern'], message: `pattern ${problem}` });
  }
});

/** Kept in step with collector/transforms/time-format.ts (a test there checks both agree). */
export const TIME_FORMAT_DIRECTIVES = 'YymdeHIMSfLzZbBhaApjsTFDRnt%';

function timeFormatProblem(f: string): string | undefined {
  if (['rfc3339', 'unix_s', 'unix_ms', 'unix_ns'].includes(f)) return undefined;
  if (!f.includes('%')) return 'expected rfc3339, unix_s, unix_ms, unix_ns or a pattern with % directives (e.g. %d/%b/%Y:%H:%M:%S %z)';
  for (let i = 0; i < f.length; i++) {
    if (f[i] !== '%') continue;
    const d = f[++i];
    if (d === undefined || !TIME_FORMAT_DIRECTIVES.includes(d)) return `unknown directive %${d ?? ''} (supported: ${[...TIME_FORMAT_DIRECTIVES].map((x) => '%' + x).join(' ')})`;
  }
  return undefined;
}

/** Kept in step with collector/transforms/parse-regex.ts. */
function regexPatternProblem(pattern: string): string | undefined {
  let re: RegExp;
  try {
    new RegExp(pattern);
    re = new RegExp(`(?:${pattern})|`);
  } catch (err) {
    return `does not compile: ${(err as Error).message}`;
  }
  // The empty alternative always matches, and `groups` exists exactly when the pattern names a group.
  return re.exec('')?.groups === undefined ? 'has no named groups: use (?<name>...) for each field' : undefined;
}

/** Built-in redaction patterns (collector/transforms/redact.ts). */
export const REDACT_BUILTINS = ['bearer_token', 'url_password', 'email', 'password', 'aws_access_key_id', 'api_key', 'jwt'] as const;

const redactPattern = z.strictObject({
  /** The `pattern` label of pharos_collector_redactions_total. */
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a snake_case name'),
  /** A JavaScript regular expression; every match is replaced. */
  regex: z
    .string()
    .min(1)
    .refine((r) => compiles(r), { error: (i) => `does not compile: ${compileError(String(i.input))}` }),
  /** May refer to groups ($1, $<name>). */
  replacement: z.string().default('[REDACTED]'),
  ignore_case: z.boolean().default(false),
});

function compileError(r: string): string {
  try {
    new RegExp(r);
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

function compiles(r: string): boolean {
  return compileError(r) === '';
}

/** A Prometheus scrape target of the collector (collector/sources/prom-scrape.ts). */
const scrapeTarget = z
  .strictObject({
    url: z.string().url().refine((u) => /^https?:/.test(u), 'expected an http:// or https:// URL'),
    job: z.string().min(1).default('scrape'),
    interval_ms: z.number().int().min(1000).default(15_000),
    timeout_ms: z.number().int().min(100).default(10_000),
    /** Extra labels on every sample of the target. */
    labels: z.record(z.string(), z.string()).default({}),
  })
  .refine((t) => t.timeout_ms <= t.interval_ms, { message: 'timeout_ms must not exceed interval_ms', path: ['timeout_ms'] });

const saslConfig = z
  .strictObject({
    mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
    username: z.string().min(1),
    password: z.string().min(1).optional(),
    /** A file holding the password (a mounted secret); read at start, trailing newline dropped. */
    password_file: z.string().min(1).optional(),
  })
  .refine((s) => (s.password === undefined) !== (s.password_file === undefined), { message: 'set exactly one of password, password_file' });

/** TLS to the brokers: files are PEM; without ca_file the system's CAs are trusted. */
const kafkaTlsConfig = z.strictObject({
  ca_file: z.string().min(1).optional(),
  cert_file: z.string().min(1).optional(),
  key_file: z.string().min(1).optional(),
  /** false accepts any certificate: for a test broker only. */
  reject_unauthorized: z.boolean().default(true),
}).refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), { message: 'cert_file and key_file go together (client certificate)' });

export const configSchema = z.strictObject({
  /** `host.name` stamped on what this process collects. */
  node_name: z.string().min(1).default(hostname()),
  /** Where Pharos keeps state: checkpoints, the embedded ClickHouse data, the local broker's logs. */
  data_dir: z.string().min(1).default('./data'),
  log: z
    .strictObject({
      level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
      /** Also write the process's own log to this file, so the collector can ship it (self-monitoring). */
      file: z.string().optional(),
    })
    .prefault({}),
  kafka: z
    .strictObject({
      /** Broker addresses. Empty: `pharos all` starts a local broker (Java 17+) or hands off in process. */
      brokers: z.array(hostPort).default([]),
      client_id: z.string().default('pharos'),
      topics: z
        .strictObject({
          logs: z.string().default('pharos.logs'),
          metrics: z.string().default('pharos.metrics'),
          alerts: z.string().default('pharos.alerts'),
          deadletter: z.string().default('pharos.deadletter'),
        })
        .prefault({}),
      /** Partitions of topics Pharos creates itself. */
      partitions: z.number().int().min(1).max(1024).default(3),
      /**
       * Compression of produced record batches. lz4 (core/kafka/lz4.ts): compressed on the
       * producer's thread at a fraction of gzip's CPU, and the broker validates a batch in a
       * fraction of gzip's time; the collector ships 1.37× the lines/s of gzip with a quarter
       * less CPU (`BENCH_COMPARE="BENCH_COMPRESSION=lz4" npm run bench:collector`, gzip level 1).
       * gzip: ~40% fewer bytes on the wire and on disk. none. Consumers read all three.
       */
      compression: z.enum(['gzip', 'lz4', 'none']).default('lz4'),
      /**
       * gzip level, 1 (fastest) to 9 (smallest). On log text level 1 costs about a quarter of level
       * 6's CPU for a few percent more bytes, and the collector runs on every host, where CPU is scarce.
       */
      compression_level: z.number().int().min(1).max(9).default(1),
      /** TLS with the system's CAs; `tls` for your own CA or a client certificate (either turns TLS on). */
      ssl: z.boolean().default(false),
      tls: kafkaTlsConfig.optional(),
      sasl: saslConfig.optional(),
      /** The local development broker (`pharos kafka`, and `pharos all` without brokers). */
      local: z
        .strictObject({
          enabled: z.enum(['auto', 'always', 'never']).default('auto'),
          port: z.number().int().min(1).max(65535).default(19092),
          controller_port: z.number().int().min(1).max(65535).default(19093),
          version: z.string().regex(/^3\.9\.\d+$/, 'Pharos runs Kafka 3.9.x').default('3.9.1'),
          /** Jars fetched from Maven Central; outside git, shared by every checkout. */
          cache_dir: z.string().optional(),
        })
        .prefault({}),
    })
    .prefault({}),
  clickhouse: z
    .strictObject({
      /** A ClickHouse server's HTTP URL. Empty: the embedded chDB engine under `data_dir/clickhouse`. */
      url: z.string().url().or(z.literal('')).default(''),
      database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('pharos'),
      username: z.string().default('default'),
      password: z.string().optional(),
      password_file: z.string().optional(),
      /** Days `otel_logs` keeps rows. */
      logs_ttl_days: z.number().int().min(1).max(20_000).default(30),
      /** Days raw metric samples are kept; rollups keep longer. */
      metrics_ttl_days: z.number().int().min(1).max(20_000).default(30),
      /** A ClickHouse server's own log tables (system.query_log, part_log, …): days kept; 0 leaves them alone. Not used on chDB. */
      system_logs_ttl_days: z.number().int().min(0).max(3650).default(7),
    })
    .prefault({}),
  auth: z
    .strictObject({
      tokens: z.array(tokenEntry).default([]),
      /** Dashboard users with passwords (browser sessions only); names must differ from each other. */
      users: z
        .array(userEntry)
        .default([])
        .refine((us) => new Set(us.map((u) => u.name)).size === us.length, { message: 'two users share a name' }),
      /** Role of a request without a token while no token is configured (servers then bind to loopback). */
      anonymous_role: role.default('viewer'),
      /** Browser sessions (`POST /api/login`): idle sessions end after this many seconds. */
      session_ttl_s: z.number().int().min(60).max(30 * 86_400).default(12 * 3600),
      /** Secure flag of the session cookie; default: set when the request came over TLS (`X-Forwarded-Proto` needs a trusted proxy). */
      cookie_secure: z.boolean().optional(),
      /** Requests per second per token (or per session user, or per client address when anonymous); 0: no limit. */
      rate_limit_per_s: z.number().min(0).default(100),
      /** Requests a token may send at once above the steady rate (token bucket size); default twice the rate. */
      rate_limit_burst: z.number().int().min(1).optional(),
      /** Largest request body (JSON and form bodies), bytes, after decompression. */
      max_body_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(1024 * 1024),
    })
    .prefault({}),
  collector: z
    .strictObject({
      /** Health, metrics and push receivers (OTLP/HTTP, JSON lines). */
      listen: hostPort.default('127.0.0.1:4318'),
      files: z.array(fileInput).default([]),
      /** Tail the stack's own log and readable files under /var/log (`pharos all` default). */
      self_logs: z.boolean().default(true),
      /** Host metrics from /proc and statfs, node_exporter names, labels job="node" and instance=<node_name>. */
      host_metrics: z
        .strictObject({
          enabled: z.boolean().default(true),
          interval_ms: z.number().int().min(1000).default(10_000),
        })
        .prefault({}),
      batch: z
        .strictObject({
          // One Kafka request per batch, one batch in flight (the checkpoint invariant): a batch
          // carries what librdkafka spreads over several requests in flight. Against 4,000 records
          // and 1 MiB, 16,000 and 4 MiB ran 1.16-1.24x the lines/s with 45% less broker CPU
          // (`npm run bench:collector`: the broker's cost is per request as much as per byte).
          // Requests stay within the broker's message.max.bytes: the producer splits a batch
          // that compresses past it, and each message stays under 1 MiB.
          max_records: z.number().int().min(1).default(16_000),
          max_bytes: z.number().int().min(1024).default(4 * 1024 * 1024),
          // librdkafka's default (linger.ms), which Vector's and Fluent Bit's Kafka outputs ship
          // with: under load batches fill by size while the previous one is on the wire, and the
          // last lines of a burst wait 5 ms, not 100 (10% of a 100 MB bench run was that wait).
          linger_ms: z.number().int().min(0).default(5),
        })
        .prefault({}),
      poll_ms: z.number().int().min(10).default(250),
      /** Push receivers on `collector.listen` (OTLP/HTTP, JSON lines) and syslog listeners (collector/receivers). */
      receivers: z
        .strictObject({
          /** `POST /v1/logs` and `/v1/metrics`, protobuf or JSON, gzip allowed. */
          otlp_http: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
          /** `POST /v1/ndjson`: one JSON object per line. */
          ndjson: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
          /** Syslog (RFC 5424 and 3164); off unless an address is set, e.g. udp "0.0.0.0:5514". */
          syslog: z
            .strictObject({
              udp: hostPort.optional(),
              tcp: hostPort.optional(),
              /** `service.name` of messages that name no app. */
              service: z.string().min(1).default('syslog'),
            })
            .prefault({}),
          /** A request body's limit, on the wire and after decompression (413 past it). */
          max_body_bytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(8 * 1024 * 1024),
          /** A log body, JSON line or syslog message longer than this is refused and counted. */
          max_line_bytes: z.number().int().min(256).max(800 * 1024, 'at most 800 KiB: a record must fit in one Kafka message').default(256 * 1024),
          /** A sample with more labels than this is refused and counted. */
          max_labels: z.number().int().min(1).default(64),
          max_label_value_bytes: z.number().int().min(16).default(4096),
          /** How long a push waits for room in the log path, then for Kafka's acknowledgement, before 503. */
          ack_timeout_ms: z.number().int().min(100).default(10_000),
          /** Retry-After (seconds) of a 503. */
          retry_after_s: z.number().int().min(1).default(5),
        })
        .prefault({}),
      /** Prometheus scrape targets. */
      scrape: z.strictObject({ targets: z.array(scrapeTarget).default([]) }).prefault({}),
      metrics: z
        .strictObject({
          /** Series per metric name the collector lets through (pushed and scraped samples); 0 = no limit. */
          max_series_per_metric: z.number().int().min(0).default(10_000),
        })
        .prefault({}),
      /** Disk spool for batches Kafka does not take (collector/spool): bounded, replayed in order. */
      spool: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Default: `<data_dir>/collector/spool`; a relative path is under data_dir. */
          dir: z.string().min(1).optional(),
          max_bytes: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
          segment_bytes: z.number().int().min(64 * 1024).default(8 * 1024 * 1024),
        })
        .prefault({}),
      /** Drop/keep rules for every log record of every source (files and push receivers), after each input's own. */
      filters: filterConfigSchema.prefault({}),
      /**
       * Resource attributes on every log record of every source (`deployment.environment`,
       * `cloud.region`): they describe where records come from, as OpenTelemetry's resource
       * processor adds them. A key the record's resource already has keeps the record's value.
       */
      resource: collectorResourceSchema.default({}),
      /** Secrets replaced in record bodies and string attributes before they leave the host. */
      redact: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Which built-in patterns apply (default: all of them). */
          builtins: z.array(z.enum(REDACT_BUILTINS)).default([...REDACT_BUILTINS]),
          /** Patterns of your own, applied after the built-ins. */
          patterns: z.array(redactPattern).default([]),
        })
        .superRefine((v, ctx) => {
          const seen = new Set<string>(REDACT_BUILTINS);
          v.patterns.forEach((p, i) => {
            if (seen.has(p.name)) ctx.addIssue({ code: 'custom', path: ['patterns', i, 'name'], message: `name ${p.name} is taken (a built-in or an earlier pattern): names label the redaction counter` });
            seen.add(p.name);
          });
        })
        .prefault({}),
    })
    .prefault({}),
  pipeline: z
    .strictObject({
      listen: hostPort.default('127.0.0.1:9464'),
      /** The in-memory TSDB behind the Prometheus-compatible query API (`/api/v1/*`). */
      realtime: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** How far back samples are kept, and replayed from Kafka at start. */
          window_ms: z.number().int().min(60_000).max(90 * 86_400_000).default(2 * 3_600_000),
          out_of_order_tolerance_ms: z.number().int().min(0).default(0),
          /** New series of one metric name beyond this are rejected and counted; 0 = no limit. */
          max_series_per_metric: z.number().int().min(0).default(100_000),
          query_timeout_ms: z.number().int().min(100).default(30_000),
          max_samples: z.number().int().min(1000).default(50_000_000),
        })
        .prefault({}),
      warehouse: z
        .strictObject({
          group_id: z.string().default('pharos-warehouse'),
          batch_rows: z.number().int().min(1).default(50_000),
          batch_bytes: z.number().int().min(1024).default(64 * 1024 * 1024),
          batch_ms: z.number().int().min(10).default(1000),
          /**
           * Partitions whose batches the writer handles at once (one decodes while another's insert
           * runs; one insert per table in flight). More than the topics' partitions only idle.
           */
          partitions_at_once: z.number().int().min(1).max(64).default(3),
          /** Most bytes fetched per partition in one request: bigger batches, fewer and cheaper inserts. */
          fetch_bytes_per_partition: z.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
        })
        .prefault({}),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      listen: hostPort.default('127.0.0.1:9093'),
      rule_files: z.array(z.string()).default([]),
      /** Also evaluate the shipped rules for hosts and for Pharos itself (alerts/default-rules). */
      default_rules: z.boolean().default(true),
      evaluation_interval_ms: z.number().int().min(100).default(15_000),
      /** Arriving samples evaluate the rules at once, then at most once per this many ms per group (a burst costs one query). */
      sample_debounce_ms: z.number().int().min(0).max(60_000).default(10),
      /** Compacted one-partition topic holding the state of active alerts (restored at start). */
      state_topic: z.string().default('pharos.alerts.state'),
      /** Firing alerts are re-sent to notification this often (Prometheus's resend delay). */
      resend_delay_ms: z.number().int().min(1000).default(60_000),
      /** `pharos alerts` processes elect one active evaluator in this Kafka consumer group; the others stand by. */
      leader_group: z.string().min(1).default('pharos-alerts-leader'),
      /** A dead active evaluator is replaced about this long after its last heartbeat (Kafka's session timeout). */
      leader_session_timeout_ms: z.number().int().min(6000).max(60_000).default(6000),
      /** Base of alerts' generatorURL, e.g. the dashboard's address. */
      external_url: z.string().default(''),
      external_labels: z.record(z.string(), z.string()).default({}),
      /** Alertmanager-style routing, receivers, inhibition (alerts/notify/config.ts). Default: no receiver. */
      notify: notifyConfigSchema.optional(),
    })
    .prefault({}),
  /** Every process publishes its own metrics (`pharos_*`, `job="pharos"`) to the metrics topic. */
  self_metrics: z
    .strictObject({
      enabled: z.boolean().default(true),
      interval_ms: z.number().int().min(1000).default(15_000),
    })
    .prefault({}),
  dashboard: z
    .strictObject({
      listen: hostPort.default('127.0.0.1:8080'),
      /** Built React app; served at `/`. */
      static_dir: z.string().optional(),
      /** The live WebSocket hub (dashboard/server/live/PROTOCOL.md). */
      live: z
        .strictObject({
          /** Recent log records kept for resuming clients; older ones are reported as a gap. */
          ring_size: z.number().int().min(100).max(1_000_000).default(20_000),
          /** Rows waiting for one slow client; beyond it the oldest are dropped and counted. */
          client_queue: z.number().int().min(10).max(100_000).default(2_000),
          /** Unsent bytes in a client's socket above which nothing more is written to it. */
          max_buffered_bytes: z.number().int().min(16 * 1024).max(64 * 1024 * 1024).default(1024 * 1024),
          max_clients: z.number().int().min(1).max(100_000).default(1_000),
          max_subscriptions_per_client: z.number().int().min(1).max(1_000).default(32),
          /** Rows of history (from the warehouse) a new logs subscription starts with. */
          backfill_rows: z.number().int().min(0).max(5_000).default(200),
        })
        .prefault({}),
    })
    .prefault({}),
  /** The analysts' read-only SQL console (`POST /api/sql`, page `/sql`; core/clickhouse/sql-console.ts). */
  sql_console: z
    .strictObject({
      /**
       * Tables a statement may read. A bare name is a table of `clickhouse.database`; `db.table`
       * names one elsewhere (e.g. `system.parts`). Anything else is refused, `system.*` included.
       */
      allowed_tables: z
        .array(z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, 'expected table or database.table'))
        .default(['otel_logs', 'metric_samples', 'metric_rollup_1m', 'metric_rollup_1h', 'alert_events', 'warehouse_batches']),
      /** ClickHouse's `max_execution_time`. At most 25 s: the server connection's HTTP request timeout is 30 s. */
      max_execution_time_s: z.number().int().min(1).max(25).default(20),
      /** Rows returned; a longer result is cut and flagged as limited. */
      max_result_rows: z.number().int().min(1).max(1_000_000).default(10_000),
      /** ClickHouse's `max_result_bytes` (uncompressed, in memory), with `result_overflow_mode = 'break'`. */
      max_result_bytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
      /** ClickHouse's `max_rows_to_read`: a statement reading more fails. 0 = no limit. */
      max_rows_to_read: z.number().int().min(0).default(0),
      /** Estimated rows above which the page asks before running a statement. */
      confirm_above_rows: z.number().int().min(0).default(10_000_000),
    })
    .prefault({}),
});

export type PharosConfig = z.infer<typeof configSchema>;
export type Role = z.infer<typeof role>;
export type FileInputConfig = z.infer<typeof fileInput>;
