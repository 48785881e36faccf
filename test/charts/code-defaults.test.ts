// Numbers from one place (issue 16): the cluster's function settings are the code's defaults
// (functions/core/config.ts) unless charts/values/code-defaults.ts states why not; the dead-letter
// topic has one partition count for every writer; the cluster runs the Kafka the tests run.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeConfig } from '../../functions/core/config.js';
import { DEAD_LETTER_PARTITIONS, DEAD_LETTER_TOPIC } from '../../functions/core/topics.js';
import { CLUSTER_OVERRIDES, CODE_DEFAULTS } from '../../charts/values/code-defaults.js';
import { KAFKA_VERSION } from '../../local/kafka/versions.js';
import { real, ROOT, type Manifest } from './synth.js';

const { all } = real();
const options = new Set(describeConfig().map((o) => o.name));
const configMaps = all.filter((o): o is Manifest & { data: Record<string, string> } => o.kind === 'ConfigMap' && /-config$/.test(o.metadata.name) && o.metadata.name !== 'clickhouse-config');
const settings = configMaps.flatMap((m) => Object.entries(m.data).filter(([k]) => options.has(k)).map(([key, value]) => ({ map: m.metadata.name, key, value })));

describe('function settings in the cluster', () => {
  it('the ConfigMaps set some of the code\'s options (the test reads the right objects)', () => {
    expect(settings.map((s) => s.key)).toEqual(expect.arrayContaining(['BATCH_MAX_ROWS', 'BATCH_MAX_AGE_MS', 'DEDUPE_WINDOW', 'LOG_LEVEL']));
  });

  it('each equals the code\'s default, or is an override with its reason', () => {
    const drift = settings
      .filter((s) => s.value !== String(CODE_DEFAULTS[s.key as keyof typeof CODE_DEFAULTS]))
      .filter((s) => !CLUSTER_OVERRIDES[s.key as keyof typeof CLUSTER_OVERRIDES]);
    expect(drift, 'a setting differs from functions/core/config.ts without a reason in CLUSTER_OVERRIDES').toEqual([]);
  });

  it('DEDUPE_WINDOW differs on purpose (the pool), the batch sizes do not', () => {
    const value = (key: string) => settings.find((s) => s.key === key)?.value;
    expect(value('DEDUPE_WINDOW')).not.toBe(String(CODE_DEFAULTS.DEDUPE_WINDOW));
    expect(CLUSTER_OVERRIDES.DEDUPE_WINDOW).toMatch(/pool/);
    expect(value('BATCH_MAX_ROWS')).toBe(String(CODE_DEFAULTS.BATCH_MAX_ROWS));
    expect(value('BATCH_MAX_AGE_MS')).toBe(String(CODE_DEFAULTS.BATCH_MAX_AGE_MS));
    expect(value('BUFFER_MAX_ROWS')).toBe(String(CODE_DEFAULTS.BUFFER_MAX_ROWS));
  });

  it('every override names an option the code has and a setting the charts make, with a reason', () => {
    for (const [key, reason] of Object.entries(CLUSTER_OVERRIDES)) {
      expect(options.has(key), key).toBe(true);
      expect(reason!.length, key).toBeGreaterThan(10);
      const envs = all.flatMap((o) => JSON.stringify(o).includes(`"${key}"`) ? [o.metadata.name] : []);
      expect(envs, `${key} is overridden but set nowhere`).not.toEqual([]);
    }
  });
});

describe('the dead-letter topic', () => {
  it('the cluster\'s KafkaTopic has the one partition count', () => {
    const topic = all.find((o) => o.kind === 'KafkaTopic' && o.spec?.topicName === DEAD_LETTER_TOPIC) ?? all.find((o) => o.kind === 'KafkaTopic' && o.metadata.name.includes('dead'));
    expect(topic?.spec.partitions).toBe(DEAD_LETTER_PARTITIONS);
  });

  it.each(['functions/adapters/dead-letter-topic.ts', 'local/dispatcher/dispatcher.ts'])('%s creates it with that count, no number of its own', (file) => {
    const source = readFileSync(`${ROOT}${file}`, 'utf8');
    expect(source).toContain('numPartitions: DEAD_LETTER_PARTITIONS');
    expect(source).not.toMatch(/numPartitions: \d/);
  });
});

describe('Kafka versions', () => {
  // From Strimzi's release notes: the Kafka versions each operator release runs.
  const STRIMZI_SUPPORTS: Record<string, readonly string[]> = { '0.47.0': ['3.9.0', '3.9.1', '4.0.0'], '0.48.0': ['4.0.0', '4.0.1', '4.1.0'] };
  const up = readFileSync(`${ROOT}kind/up.sh`, 'utf8');
  const strimzi = /^STRIMZI_VERSION=(\S+)$/m.exec(up)?.[1] ?? '';

  it('the cluster runs the version the tests run kafkajs against', () => {
    const kafka = all.find((o) => o.kind === 'Kafka');
    expect(kafka?.spec.kafka.version).toBe(KAFKA_VERSION);
  });

  it('the Strimzi kind/up.sh installs runs that version', () => {
    expect(STRIMZI_SUPPORTS[strimzi], `Strimzi ${strimzi}`).toContain(KAFKA_VERSION);
  });

  it('docs/deploy.md names the same Strimzi and Kafka', () => {
    const doc = readFileSync(`${ROOT}docs/deploy.md`, 'utf8');
    expect(doc).toContain(`quay.io/strimzi/kafka:${strimzi}-kafka-${KAFKA_VERSION}`);
    expect(doc).not.toMatch(/kafka-4\.\d/);
  });
});

