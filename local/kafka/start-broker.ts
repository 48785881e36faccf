import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from '../logger.js';
import { ensureKafkaJars } from './fetch.js';
import { freePort, isPortFree } from './ports.js';
import { LOG4J_PROPERTIES, renderProperties, serverProperties, STARTED_LINE } from './server-properties.js';
import { DEFAULT_KAFKA_DATA_DIR, DEFAULT_KAFKA_PORT, KAFKA_VERSION } from './versions.js';

/** Heap for the single-node broker: plenty for local topics, small next to ClickHouse and the functions. */
export const DEFAULT_HEAP_MB = 512;
/** A cold JVM on a busy 2-core machine starts the broker in about 4 s; leave room for CI noise. */
export const DEFAULT_START_TIMEOUT_MS = 90_000;
/** Controlled shutdown of one node takes a few seconds; past this the JVM is killed. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;
/** Lines of broker output kept to explain a failed start. */
const TAIL_LINES = 60;

export interface KafkaBrokerOptions {
  /** Client port on 127.0.0.1. Default 9092; 0 picks a free port. */
  readonly port?: number;
  /** KRaft controller port. Default: a free port, kept across restart(). */
  readonly controllerPort?: number;
  /** Data, config and log folder. Default `.data/kafka`. */
  readonly dataDir?: string;
  readonly heapMb?: number;
  readonly version?: string;
  readonly startTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** Extra server.properties settings, applied after the defaults. */
  readonly serverOverrides?: Readonly<Record<string, string | number | boolean>>;
  readonly logger?: Logger;
}

export interface KafkaBroker {
  /** `127.0.0.1:PORT`, the value for KAFKA_BROKERS. */
  readonly brokers: string;
  readonly port: number;
  readonly dataDir: string;
  /** The JVM's pid while it runs. */
  pid(): number | undefined;
  isRunning(): boolean;
  /** SIGTERM (controlled shutdown), SIGKILL if it takes longer than stopTimeoutMs. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash: nothing is flushed or handed over. */
  kill(): Promise<void>;
  /** stop() then start again on the same ports and data. */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** A broker must never outlive the process that started it (a crashed test run, a Ctrl-C). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Starts a single-node KRaft Apache Kafka broker on 127.0.0.1 and resolves once it accepts
 * clients. Jars are fetched into `.cache/kafka/<version>` on first use; the data folder is
 * formatted on first use and kept, like a real broker's.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  // The ports picked here are free when picked, but the JVM binds them seconds later: on a busy
  // machine another process (often an outgoing connection's ephemeral port) can take one in
  // between, and the broker exits at start. Ports it picked itself are then simply picked again.
  const picksPorts = (options.port ?? DEFAULT_KAFKA_PORT) === 0 || options.controllerPort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (!picksPorts || attempt >= 3 || !/exited during start/.test((error as Error).message)) throw error;
      options.logger?.warn({ attempt, err: (error as Error).message.split('\n')[0] }, 'Kafka broker exited at start (a port race?); trying with new ports');
    }
  }
}

async function startOnce(options: KafkaBrokerOptions): Promise<KafkaBroker> {
  const log = options.logger;
  const version = options.version ?? KAFKA_VERSION;
  const dataDir = resolve(options.dataDir ?? DEFAULT_KAFKA_DATA_DIR);
  const requestedPort = options.port ?? DEFAULT_KAFKA_PORT;
  const port = requestedPort === 0 ? await freePort() : requestedPort;
  if (!(await isPortFree(port))) {
    throw new Error(`port ${port} on 127.0.0.1 is already in use (another broker?): ` +
      `set KAFKA_BROKERS=127.0.0.1:${port} to use it, or choose another port`);
  }
  const controllerPort = options.controllerPort ?? await freePortExcept(port);
  const jarsDir = await ensureKafkaJars({ version, logger: log });

  await mkdir(join(dataDir, 'logs'), { recursive: true });
  const propertiesPath = join(dataDir, 'server.properties');
  const log4jPath = join(dataDir, 'log4j.properties');
  const props = serverProperties({ port, controllerPort, logDir: join(dataDir, 'logs'), overrides: options.serverOverrides });
  await writeFile(propertiesPath, renderProperties(props));
  await writeFile(log4jPath, LOG4J_PROPERTIES);

  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  const classpath = `${jarsDir}/*`;
  const jvmArgs = [
    `-Xmx${options.heapMb ?? DEFAULT_HEAP_MB}m`,
    '-Xms128m',
    // Serial GC: one GC thread instead of one per core; pauses are irrelevant at this heap size.
    '-XX:+UseSerialGC',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${log4jPath}`,
    '-cp', classpath,
  ];

  await formatStorage(java, jvmArgs, dataDir, propertiesPath);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    if (!(await isPortFree(port))) throw new Error(`port ${port} is still in use; cannot (re)start the broker`);
    const logFile = createWriteStream(join(dataDir, 'broker.log'), { flags: 'a' });
    const proc = spawn(java, [...jvmArgs, 'kafka.Kafka', propertiesPath], {
      cwd: dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    running.add(proc);
    installExitHook();
    exited = new Promise((done) => proc.once('exit', () => {
      running.delete(proc);
      logFile.end();
      done();
    }));
    const tail: string[] = [];
    const started = new Promise<void>((resolveStart, rejectStart) => {
      let buffered = '';
      const onData = (chunk: Buffer): void => {
        logFile.write(chunk);
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > TAIL_LINES) tail.shift();
          if (STARTED_LINE.test(line)) resolveStart();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('error', rejectStart);
      proc.once('exit', (code, signal) => rejectStart(new Error(
        `Kafka broker exited during start (code ${code}, signal ${signal}); last output:\n${tail.join('\n')}`)));
    });
    const timeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rejectTimeout) => {
      timer = setTimeout(() => rejectTimeout(new Error(
        `Kafka broker did not start within ${timeoutMs} ms; last output:\n${tail.join('\n')}`)), timeoutMs);
    });
    const t0 = Date.now();
    try {
      await Promise.race([started, timeout]);
    } catch (error) {
      proc.kill('SIGKILL');
      await exited;
      throw error;
    } finally {
      clearTimeout(timer);
    }
    log?.info({ brokers: `127.0.0.1:${port}`, javaPid: proc.pid, ms: Date.now() - t0, version, dataDir }, 'Kafka broker started');
  };

  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const stop = async (): Promise<void> => {
    if (!child || !isRunning()) return;
    const proc = child;
    proc.kill('SIGTERM');
    const timeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>((done) => { timer = setTimeout(() => done(true), timeoutMs); }),
    ]);
    clearTimeout(timer);
    if (gaveUp) {
      log?.warn({ javaPid: proc.pid, timeoutMs }, 'Kafka broker did not stop in time; killing it');
      proc.kill('SIGKILL');
      await exited;
    }
    log?.info({ port }, 'Kafka broker stopped');
  };

  const kill = async (): Promise<void> => {
    if (!child || !isRunning()) return;
    child.kill('SIGKILL');
    await exited;
    log?.info({ port }, 'Kafka broker killed');
  };

  await launch();

  return {
    brokers: `127.0.0.1:${port}`,
    port,
    dataDir,
    pid: () => (isRunning() ? child?.pid : undefined),
    isRunning,
    stop,
    kill,
    restart: async () => {
      await stop();
      await launch();
    },
  };
}

async function freePortExcept(taken: number): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port !== taken) return port;
  }
}

/** Formats the KRaft metadata folder once; `--ignore-formatted` keeps an existing one as it is. */
async function formatStorage(java: string, jvmArgs: readonly string[], dataDir: string, propertiesPath: string): Promise<void> {
  const clusterIdPath = join(dataDir, 'cluster-id');
  const clusterId = existsSync(clusterIdPath) ? readFileSync(clusterIdPath, 'utf8').trim() : newClusterId();
  await writeFile(clusterIdPath, `${clusterId}\n`);
  await new Promise<void>((resolveFormat, reject) => {
    const args = [...jvmArgs.filter((a) => !a.startsWith('-Xm')), '-Xmx256m', 'kafka.tools.StorageTool', 'format',
      '-t', clusterId, '-c', propertiesPath, '--ignore-formatted'];
    const proc = spawn(java, args, { cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    proc.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    proc.on('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT'
      ? new Error('java is not on PATH (and JAVA_HOME is unset): the Kafka broker needs Java 17')
      : error));
    proc.on('exit', (code) => (code === 0 ? resolveFormat()
      : reject(new Error(`kafka.tools.StorageTool format exited with ${code}:\n${output}`))));
  });
}

/** A Kafka cluster id: 16 random bytes in URL-safe base64, never starting with '-' (CLI-hostile). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
