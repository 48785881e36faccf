import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Kafka 3.9 is the last line that still speaks the old protocol versions kafkajs 2.2.4 (its last
 * release) was written against; Kafka 4 removed many of them (KIP-896). See local/kafka/README.md.
 * The cluster runs this version too (charts/values/names.ts, test/charts/code-defaults.test.ts).
 */
export const KAFKA_VERSION = '3.9.1';

/** The repository root, so the CLI and the tests find `.cache/` and `.data/` from any working directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Jars live under `.cache/kafka/<version>/` (git-ignored) so a version bump never mixes jars. */
export const KAFKA_CACHE_ROOT = resolve(REPO_ROOT, '.cache', 'kafka');

/** Default broker data under `.data/kafka` (git-ignored), kept between runs like a real broker's. */
export const DEFAULT_KAFKA_DATA_DIR = resolve(REPO_ROOT, '.data', 'kafka');

export const DEFAULT_KAFKA_PORT = 9092;

export const POM_PATH = resolve(REPO_ROOT, 'local', 'kafka', 'pom.xml');
