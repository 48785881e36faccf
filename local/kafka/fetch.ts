import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMain } from '../is-main.js';
import { createLocalLogger, type Logger } from '../logger.js';
import { KAFKA_CACHE_ROOT, KAFKA_VERSION, POM_PATH } from './versions.js';

/** Written last, so a half-finished download is never mistaken for a complete one. */
const COMPLETE_MARKER = '.complete';

export interface FetchKafkaOptions {
  readonly version?: string;
  readonly cacheRoot?: string;
  /** Show Maven's own output (CI logs); otherwise it is kept and shown only on failure. */
  readonly inheritOutput?: boolean;
  readonly logger?: Logger;
}

export function kafkaJarsDir(version = KAFKA_VERSION, cacheRoot = KAFKA_CACHE_ROOT): string {
  return join(cacheRoot, version);
}

export function hasKafkaJars(version = KAFKA_VERSION, cacheRoot = KAFKA_CACHE_ROOT): boolean {
  return existsSync(join(kafkaJarsDir(version, cacheRoot), COMPLETE_MARKER));
}

/**
 * Returns the folder holding Apache Kafka's broker jars (and their dependencies), downloading them
 * from Maven Central with `mvn dependency:copy-dependencies` when they are not cached yet.
 * Several processes may call this at once (CI prefetch, vitest's global setup, `npm run kafka`):
 * each downloads into its own temporary folder and the first rename wins.
 */
export async function ensureKafkaJars(options: FetchKafkaOptions = {}): Promise<string> {
  const version = options.version ?? KAFKA_VERSION;
  const cacheRoot = options.cacheRoot ?? KAFKA_CACHE_ROOT;
  const target = kafkaJarsDir(version, cacheRoot);
  if (hasKafkaJars(version, cacheRoot)) return target;

  const log = options.logger;
  const staging = `${target}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  log?.info({ version, target }, 'fetching Apache Kafka jars from Maven Central');
  const started = Date.now();
  try {
    await runMaven(
      ['-q', '-B', '-Dstyle.color=never', '-f', POM_PATH, 'dependency:copy-dependencies', `-Dkafka.version=${version}`,
        `-DoutputDirectory=${staging}`, '-DincludeScope=runtime'],
      options.inheritOutput ?? false,
    );
    const jars = (await readdir(staging)).filter((f) => f.endsWith('.jar'));
    if (!jars.some((f) => f.startsWith(`kafka_2.13-${version}`))) {
      throw new Error(`Maven finished but kafka_2.13-${version}.jar is not in ${staging}`);
    }
    await writeFile(join(staging, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    try {
      await rename(staging, target);
    } catch (error) {
      // Another process won the race; its copy is as good as ours.
      if (!hasKafkaJars(version, cacheRoot)) throw error;
    }
    log?.info({ version, jars: jars.length, ms: Date.now() - started }, 'Kafka jars ready');
    return target;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function runMaven(args: readonly string[], inherit: boolean): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('mvn', args, { stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT'
        ? new Error('mvn is not on PATH: install Maven (Debian package "maven") to fetch the Kafka broker jars')
        : error);
    });
    child.on('exit', (code) => {
      if (code === 0) return resolvePromise();
      reject(new Error(`mvn ${args.join(' ')} exited with ${code}` +
        (output ? `:\n${output.split('\n').slice(-40).join('\n')}` : '')));
    });
  });
}

if (isMain(import.meta.url)) {
  const logger = createLocalLogger('kafka-fetch');
  ensureKafkaJars({ logger, inheritOutput: true })
    .then((dir) => { process.stdout.write(`${dir}\n`); })
    .catch((error: unknown) => {
      logger.error({ err: error }, 'could not fetch the Kafka jars');
      process.exitCode = 1;
    });
}
