/**
 * A local single-node Apache Kafka 3.9 broker (KRaft, broker and controller in one JVM) for
 * development and tests: jars fetched from Maven Central with `mvn` into a cache outside git,
 * listeners on loopback only, logs in the data directory rather than on our stdout.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { PharosError } from '../errors.js';
import type { Logger } from '../log.js';

export const DEFAULT_KAFKA_VERSION = '3.9.1';
/** What DESIGN.md asks of a machine before `pharos all` runs a local broker. */
export const MIN_JAVA_MAJOR = 17;

const SLF4J_BINDING_VERSION = '1.7.36';
// Pinned so a cold cache does not depend on whichever plugin version Maven would pick.
const DEPENDENCY_PLUGIN_VERSION = '3.8.1';
const MARKER = '.pharos-complete';
const READY_TIMEOUT_MS = 60_000;
const READY_POLL_MS = 250;
const STOP_TIMEOUT_MS = 20_000;
// A download from a cold Maven cache can take minutes on a slow link; a lock older than this is abandoned.
const LOCK_STALE_MS = 15 * 60_000;

/** The major version of `java` on PATH (8 for "1.8.0_x", 17 for "17.0.15"), or null without one. */
export function javaMajorVersion(): number | null {
  const res = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 15_000 });
  if (res.error || res.status !== 0) return null;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${res.stderr}\n${res.stdout}`);
  if (!match) return null;
  const major = Number(match[1]);
  return major === 1 && match[2] !== undefined ? Number(match[2]) : major;
}

export function defaultKafkaCacheDir(): string {
  return process.env.PHAROS_KAFKA_CACHE || join(homedir(), '.cache', 'pharos', 'kafka');
}

export interface ProvisionOptions {
  version: string;
  cacheDir: string;
  log: Logger;
}

/**
 * Fetches Kafka's runtime jars into `<cacheDir>/<version>/libs` and returns that directory.
 * The jars land in a private temporary directory that is renamed into place, and the marker is
 * written only after that, so an interrupted download is never mistaken for a complete one; a
 * lock directory keeps two processes from downloading at once.
 */
export async function provisionKafka(opts: ProvisionOptions): Promise<string> {
  if (!/^[0-9A-Za-z.+-]+$/.test(opts.version)) {
    throw new PharosError('kafka_provision_failed', `not a Kafka version: '${opts.version}'`);
  }
  const versionDir = resolve(opts.cacheDir, opts.version);
  const libs = join(versionDir, 'libs');
  const marker = join(versionDir, MARKER);
  if (existsSync(marker) && existsSync(libs)) return libs;

  await mkdir(versionDir, { recursive: true });
  const release = await acquireLock(join(versionDir, '.lock'), marker, opts.log);
  try {
    // Another process may have finished while we waited for the lock.
    if (existsSync(marker) && existsSync(libs)) return libs;
    const started = Date.now();
    opts.log.info({ version: opts.version, cache_dir: versionDir }, `fetching Kafka ${opts.version} from Maven Central (mvn)`);
    await removeLeftovers(versionDir);
    const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
    const work = join(versionDir, `.work-${tag}`);
    const tmpLibs = join(versionDir, `.libs-${tag}`);
    try {
      await mkdir(work, { recursive: true });
      await writeFile(join(work, 'pom.xml'), provisioningPom(opts.version));
      await runMaven(work, tmpLibs);
      await checkJars(tmpLibs, opts.version);
      await rm(libs, { recursive: true, force: true });
      await rename(tmpLibs, libs);
      await writeFile(marker, `${new Date().toISOString()}\n`);
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(tmpLibs, { recursive: true, force: true });
    }
    opts.log.info({ version: opts.version, libs, ms: Date.now() - started }, `fetched Kafka ${opts.version} in ${Date.now() - started} ms`);
    return libs;
  } finally {
    await release();
  }
}

/** Work directories of a provisioning that died (we hold the lock, so none of them is live). */
async function removeLeftovers(versionDir: string): Promise<void> {
  for (const name of await readdir(versionDir)) {
    if (name.startsWith('.work-') || name.startsWith('.libs-')) await rm(join(versionDir, name), { recursive: true, force: true });
  }
}

function provisioningPom(version: string): string {
  const dep = (groupId: string, artifactId: string, v: string) =>
    `    <dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway: only resolves Kafka's runtime classpath for Pharos's local broker. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.pharos</groupId>
  <artifactId>local-kafka</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', version)}
${dep('org.apache.kafka', 'kafka-tools', version)}
${dep('org.slf4j', 'slf4j-reload4j', SLF4J_BINDING_VERSION)}
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>${DEPENDENCY_PLUGIN_VERSION}</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
`;
}

function runMaven(workDir: string, outputDir: string): Promise<void> {
  const args = ['-q', '-B', '-Dstyle.color=never', '-f', join(workDir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${outputDir}`, '-DincludeScope=runtime'];
  return new Promise((resolvePromise, reject) => {
    execFile('mvn', args, { cwd: workDir, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolvePromise();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        return reject(new PharosError('kafka_provision_failed', 'mvn was not found on PATH: Maven is needed to fetch Kafka from Maven Central', false, { cause: err }));
      }
      // Maven prints its [ERROR] lines on stdout, the JVM's complaints on stderr: keep both.
      const tail = lastLines(`${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, ''), 30, 4000);
      reject(new PharosError('kafka_provision_failed', `mvn dependency:copy-dependencies failed (exit ${String(code ?? err.message)}):\n${tail}`, false, { cause: err }));
    });
  });
}

async function checkJars(dir: string, version: string): Promise<void> {
  const files = await readdir(dir).catch(() => [] as string[]);
  if (!files.includes(`kafka_2.13-${version}.jar`)) {
    throw new PharosError('kafka_provision_failed', `mvn finished but kafka_2.13-${version}.jar is not in ${dir} (${files.length} files)`);
  }
}

/** mkdir is atomic: whoever creates the directory owns the lock. The owner's pid lets a crash be told from a slow download. */
async function acquireLock(lockDir: string, marker: string, log: Logger): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'owner'), `${process.pid}\n`);
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (await lockIsStale(lockDir)) {
      log.warn({ lock: lockDir }, 'removing a stale Kafka provisioning lock');
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (!announced) {
      log.info({ lock: lockDir }, 'another process is fetching Kafka; waiting for it');
      announced = true;
    }
    // The holder may finish without us needing the lock at all: the caller re-checks the marker.
    if (existsSync(marker)) await sleep(50);
    else await sleep(500);
  }
}

async function lockIsStale(lockDir: string): Promise<boolean> {
  let info;
  try {
    info = await stat(lockDir);
  } catch {
    return false; // released between our mkdir and stat: just try again
  }
  if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
  const owner = Number((await readFile(join(lockDir, 'owner'), 'utf8').catch(() => '')).trim());
  // No owner file yet: the holder is between mkdir and writeFile, unless it died right there (then the age rule catches it).
  if (!Number.isInteger(owner) || owner <= 0) return false;
  try {
    process.kill(owner, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A port the kernel considers free on loopback right now (another process may still take it before use). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolvePromise(port) : reject(new Error('no port assigned'))));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolvePromise(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolvePromise(true)));
  });
}

export interface LocalBrokerOptions {
  version: string;
  port: number;
  controllerPort: number;
  cacheDir: string;
  dataDir: string;
  log: Logger;
  heapMb?: number;
}

export interface BrokerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LocalBroker {
  readonly brokers: string[];
  /** Settles (never rejects) when the JVM is gone, for whatever reason. */
  readonly exited: Promise<BrokerExit>;
  private exit: BrokerExit | null = null;
  private readonly exitListeners: Array<(exit: BrokerExit) => void> = [];
  private stopping: Promise<void> | null = null;
  private readonly killOnParentExit = () => {
    if (this.exit === null) this.child.kill('SIGTERM');
  };

  private constructor(
    private readonly child: ChildProcess,
    private readonly watchdog: ChildProcess | null,
    readonly dataDir: string,
    readonly port: number,
    readonly clusterId: string,
    private readonly log: Logger,
  ) {
    this.brokers = [`127.0.0.1:${port}`];
    this.exited = new Promise((resolvePromise) => {
      const done = (exit: BrokerExit) => {
        if (this.exit) return;
        this.exit = exit;
        process.removeListener('exit', this.killOnParentExit);
        this.watchdog?.kill('SIGTERM');
        for (const listener of this.exitListeners) listener(exit);
        resolvePromise(exit);
      };
      child.once('exit', (code, signal) => done({ code, signal }));
      // spawn failures (e.g. java vanished from PATH) arrive as 'error' without an 'exit'.
      child.once('error', () => done({ code: null, signal: null }));
    });
    process.on('exit', this.killOnParentExit);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === null;
  }

  /** Called once when the JVM exits, also when it exits on its own (a crash, or a kill from outside). */
  onExit(listener: (exit: BrokerExit) => void): void {
    if (this.exit) listener(this.exit);
    else this.exitListeners.push(listener);
  }

  static async start(opts: LocalBrokerOptions): Promise<LocalBroker> {
    const started = Date.now();
    const { port, controllerPort, log } = opts;
    if (port === controllerPort) throw new PharosError('kafka_start_failed', `the broker and controller ports must differ (both ${port})`);
    const java = javaMajorVersion();
    if (java === null) throw new PharosError('kafka_start_failed', 'java was not found on PATH: the local Kafka broker needs Java 17+');
    if (java < MIN_JAVA_MAJOR) throw new PharosError('kafka_start_failed', `the local Kafka broker needs Java ${MIN_JAVA_MAJOR}+, found Java ${java}`);

    await assertPortFree(port, 'broker');
    await assertPortFree(controllerPort, 'controller');

    const libs = await provisionKafka({ version: opts.version, cacheDir: opts.cacheDir, log });
    const dataDir = resolve(opts.dataDir);
    const logDirs = join(dataDir, 'kraft-logs');
    await mkdir(logDirs, { recursive: true });
    const serverProperties = join(dataDir, 'server.properties');
    const log4jProperties = join(dataDir, 'log4j.properties');
    await writeFile(serverProperties, serverPropertiesText(port, controllerPort, logDirs));
    await writeFile(log4jProperties, log4jPropertiesText(join(dataDir, 'server.log')));

    const classpath = [`-cp`, join(libs, '*'), `-Dlog4j.configuration=file:${log4jProperties}`];
    const clusterId = await ensureFormatted(logDirs, classpath, serverProperties, dataDir);

    const outPath = join(dataDir, 'server.out');
    const out = openSync(outPath, 'a');
    let child: ChildProcess;
    try {
      const heap = opts.heapMb ?? 512;
      child = spawn(
        'java',
        [`-Xmx${heap}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', ...classpath, 'kafka.Kafka', serverProperties],
        // The JVM writes to a file, not a pipe: a pipe nobody drains would stall it once full.
        { cwd: dataDir, stdio: ['ignore', out, out], detached: false },
      );
    } finally {
      closeSync(out);
    }
    const broker = new LocalBroker(child, spawnWatchdog(child), dataDir, port, clusterId, log);
    try {
      await broker.waitReady(started);
    } catch (err) {
      await broker.stop();
      throw err;
    }
    const ms = Date.now() - started;
    log.info({ brokers: broker.brokers, cluster_id: clusterId, data_dir: dataDir, pid: child.pid, ms }, `local Kafka ${opts.version} ready at ${broker.brokers[0]} in ${ms} ms`);
    return broker;
  }

  private async waitReady(started: number): Promise<void> {
    const deadline = started + READY_TIMEOUT_MS;
    let lastError = 'no answer yet';
    while (Date.now() < deadline) {
      if (this.exit) {
        throw new PharosError(
          'kafka_start_failed',
          `the Kafka JVM exited during start (code ${this.exit.code}, signal ${this.exit.signal}); the end of its logs:\n${this.logTail()}`,
        );
      }
      const attempt = Date.now();
      try {
        const clusterId = await describeClusterId(this.brokers, 1000);
        if (clusterId !== this.clusterId) {
          throw new PharosError('kafka_start_failed', `another Kafka broker (cluster ${clusterId}) answers at ${this.brokers[0]}, not the one just started (cluster ${this.clusterId})`);
        }
        return;
      } catch (err) {
        if (err instanceof PharosError) throw err;
        lastError = (err as Error).message;
      }
      await Promise.race([sleep(Math.max(0, READY_POLL_MS - (Date.now() - attempt))), this.exited]);
    }
    throw new PharosError(
      'kafka_start_failed',
      `the local Kafka broker did not answer at ${this.brokers[0]} within ${READY_TIMEOUT_MS / 1000} s (last error: ${lastError}); the end of its logs:\n${this.logTail()}`,
    );
  }

  /** SIGTERM for a controlled shutdown, SIGKILL if it has not finished within the timeout. Idempotent. */
  stop(timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
    this.stopping ??= (async () => {
      if (this.exit) return;
      this.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolvePromise) => {
        timer = setTimeout(() => resolvePromise('timeout'), timeoutMs);
      });
      const outcome = await Promise.race([this.exited, timeout]);
      clearTimeout(timer);
      if (outcome === 'timeout' && !this.exit) {
        this.log.warn({ pid: this.child.pid, timeout_ms: timeoutMs }, 'the local Kafka broker did not stop in time; killing it');
        this.child.kill('SIGKILL');
        await this.exited;
      }
    })();
    return this.stopping;
  }

  private logTail(): string {
    const parts: string[] = [];
    for (const name of ['server.log', 'server.out']) {
      // Kafka dumps every config value at start; those lines would crowd the error out of the tail.
      const text = tailFile(join(this.dataDir, name), 64 * 1024)
        .split('\n')
        .filter((line) => !/^\t[\w.-]+ = /.test(line))
        .join('\n');
      if (text.trim()) parts.push(`--- ${name} ---\n${lastLines(text, 25, 4000)}`);
    }
    return parts.join('\n') || `(no log in ${this.dataDir})`;
  }
}

async function assertPortFree(port: number, role: 'broker' | 'controller'): Promise<void> {
  if (await portIsFree(port)) return;
  let clusterId: string | null = null;
  try {
    clusterId = await describeClusterId([`127.0.0.1:${port}`], 2000);
  } catch {
    // not Kafka, or not answering: the generic message below
  }
  if (clusterId !== null) {
    throw new PharosError(
      'kafka_start_failed',
      `a Kafka broker (cluster ${clusterId}) already answers at 127.0.0.1:${port}: stop it or choose another ${role} port (a previous local broker may still be running)`,
    );
  }
  throw new PharosError('kafka_start_failed', `the ${role} port 127.0.0.1:${port} is already in use by another program: choose another port`);
}

async function describeClusterId(brokers: string[], timeoutMs: number): Promise<string> {
  const kafka = new Kafka({
    clientId: 'pharos-local-broker-probe',
    brokers,
    // Refused connections are the expected answer while the broker boots: nothing to log.
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs * 2,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.clusterId;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Formats the log directory once; afterwards the cluster id comes from its meta.properties. */
async function ensureFormatted(logDirs: string, classpath: string[], serverProperties: string, cwd: string): Promise<string> {
  const metaPath = join(logDirs, 'meta.properties');
  if (existsSync(metaPath)) {
    const id = /^cluster\.id=(.+)$/m.exec(await readFile(metaPath, 'utf8'))?.[1]?.trim();
    if (id) return id;
    throw new PharosError('kafka_start_failed', `${metaPath} has no cluster.id: remove ${logDirs} to start from an empty broker`);
  }
  const uuidOut = await runJava([...classpath, 'kafka.tools.StorageTool', 'random-uuid'], cwd);
  const clusterId = uuidOut.trim().split(/\s+/).pop() ?? '';
  if (!/^[A-Za-z0-9_-]{22}$/.test(clusterId)) {
    throw new PharosError('kafka_start_failed', `kafka.tools.StorageTool random-uuid printed no cluster id:\n${lastLines(uuidOut, 10, 2000)}`);
  }
  await runJava([...classpath, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', serverProperties], cwd);
  return clusterId;
}

function runJava(args: string[], cwd: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile('java', ['-Xmx256m', ...args], { cwd, maxBuffer: 4 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (!err) return resolvePromise(stdout);
      const what = args.slice(args.indexOf('kafka.tools.StorageTool')).join(' ');
      reject(new PharosError('kafka_start_failed', `${what} failed: ${err.message}\n${lastLines(`${stdout}\n${stderr}`, 20, 3000)}`, false, { cause: err }));
    });
  });
}

/**
 * A process 'exit' handler cannot run when this process is killed by a signal (a CI timeout, a
 * SIGKILLed test worker). This `sh` holds the read end of a pipe from us: whenever we die, it sees
 * end-of-file and takes the JVM down with it. It ignores SIGINT because Ctrl-C reaches the whole
 * process group, and our own handler may still want to stop the broker cleanly.
 */
function spawnWatchdog(child: ChildProcess): ChildProcess | null {
  if (child.pid === undefined || process.platform === 'win32') return null;
  const script = 'trap "" INT; while read -r _; do :; done; kill -TERM "$1" 2>/dev/null || exit 0; sleep 10; kill -KILL "$1" 2>/dev/null; exit 0';
  const watchdog = spawn('sh', ['-c', script, 'pharos-kafka-watchdog', String(child.pid)], { stdio: ['pipe', 'ignore', 'ignore'], detached: false });
  watchdog.on('error', () => undefined);
  watchdog.stdin?.on('error', () => undefined);
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}

function serverPropertiesText(port: number, controllerPort: number, logDirs: string): string {
  return `# Written by Pharos at each start of its local broker; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${logDirs}
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
# Fewer than the default 50 partitions: the first consumer group waits for all of them to be created.
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
# Kafka's own default, stated so that size limits behave here as on a stock broker.
message.max.bytes=1048588
`;
}

function log4jPropertiesText(logFile: string): string {
  return `# Written by Pharos: the broker logs to a file in its data directory, never to our stdout.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${logFile}
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
`;
}

function tailFile(path: string, bytes: number): string {
  let fd: number | null = null;
  try {
    const size = statSync(path).size;
    const length = Math.min(size, bytes);
    const buf = Buffer.alloc(length);
    fd = openSync(path, 'r');
    readSync(fd, buf, 0, length, size - length);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function lastLines(text: string, lines: number, maxChars: number): string {
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
}
