// The dispatcher's pure parts, table-tested without a broker (kept beside the Kafka tests they support).
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { encodeHeaderValue, recordToCloudEvent, toBatchHttp, toBinaryHttp } from '../../functions/cloudevents/index.js';
import { mergeConfigInput, parseCliArgs } from '../../local/dispatcher/cli-args.js';
import { configInputFromJson, DispatcherConfigError, parseDispatcherConfig } from '../../local/dispatcher/config.js';
import { errorExtensions } from '../../local/dispatcher/dead-letter.js';
import { parseIsoDurationMs } from '../../local/dispatcher/duration.js';
import { OffsetTracker } from '../../local/dispatcher/offset-tracker.js';
import { backoffMs, isRetryableStatus, retryAfterMs } from '../../local/dispatcher/retry-policy.js';
import { renderProperties, serverProperties } from '../../local/kafka/server-properties.js';

const source = { namespace: 'ns', name: 'src' };

function message(offset: number, fields: Partial<KafkaMessage> = {}): KafkaMessage {
  return { offset: String(offset), key: null, value: Buffer.from('{}'), timestamp: '0', attributes: 0, headers: {}, ...fields } as KafkaMessage;
}

describe('ISO-8601 durations', () => {
  it.each([
    ['PT0.2S', 200], ['PT1S', 1000], ['PT1M30S', 90_000], ['PT2H', 7_200_000], ['P1D', 86_400_000], ['P1DT1S', 86_401_000], ['pt0.5s', 500], ['PT0S', 0],
  ])('%s is %d ms', (text, ms) => expect(parseIsoDurationMs(text)).toBe(ms));
  it.each(['', 'P', 'PT', '1s', '200', 'P1M', 'P1Y', 'PT-1S', 'PT1.S'])('%s is refused', (text) => expect(parseIsoDurationMs(text)).toBeUndefined());
});

describe('retry policy', () => {
  it.each([
    ['linear', 200, 1, 200], ['linear', 200, 2, 400], ['linear', 200, 3, 600],
    ['exponential', 200, 1, 200], ['exponential', 200, 2, 400], ['exponential', 200, 3, 800], ['exponential', 200, 5, 3200],
  ] as const)('%s backoff of %d ms before retry %d is %d ms', (policy, delay, retry, expected) => {
    expect(backoffMs(policy, delay, retry)).toBe(expected);
  });
  it.each([[500, true], [503, true], [404, true], [409, true], [429, true], [400, false], [401, false], [413, false], [422, false]])(
    'HTTP %d retryable: %s', (status, retryable) => expect(isRetryableStatus(status)).toBe(retryable));
  it('reads Retry-After as seconds or a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('offset tracker', () => {
  it('commits only over a contiguous prefix of done records, across gaps in offsets', () => {
    const t = new OffsetTracker();
    for (const o of [5, 6, 7, 9]) t.track(o);
    expect(t.committable()).toBeUndefined();
    t.complete(6);
    expect(t.committable()).toBeUndefined();
    t.complete(5);
    expect(t.committable()).toBe(7);
    t.complete(9);
    expect(t.committable()).toBe(7);
    t.complete(7);
    expect(t.committable()).toBe(10);
    expect(t.outstanding()).toBe(0);
  });
  it('refuses offsets out of order', () => {
    const t = new OffsetTracker();
    t.track(3);
    expect(() => t.track(3)).toThrow(/tracked after/);
  });
  it('stays correct over many records finishing in reverse order', () => {
    const t = new OffsetTracker();
    for (let o = 0; o < 5000; o++) t.track(o);
    for (let o = 4999; o >= 1; o--) t.complete(o);
    expect(t.committable()).toBeUndefined();
    t.complete(0);
    expect(t.committable()).toBe(5000);
  });
});

describe('CloudEvents from Kafka records', () => {
  it('wraps a plain record as dev.knative.kafka.event', () => {
    const event = recordToCloudEvent({
      topic: 'user_events', partition: 3,
      message: message(42, { key: Buffer.from('u-1'), timestamp: '1700000000000', headers: { 'Content-Type': 'Application/JSON', 'trace.ID': 'x', multi: ['a', 'b'] } }),
    }, source);
    expect(event.attributes).toEqual({
      specversion: '1.0', id: 'partition:3/offset:42', source: '/apis/v1/namespaces/ns/kafkasources/src#user_events',
      type: 'dev.knative.kafka.event', subject: 'partition:3#42', time: '2023-11-14T22:13:20.000Z',
      key: 'u-1', partitionkey: 'u-1', datacontenttype: 'application/json', kafkaheadertraceid: 'x', kafkaheadermulti: 'b',
    });
  });
  it('passes a Kafka binary-mode CloudEvent through as itself', () => {
    const event = recordToCloudEvent({ topic: 't', partition: 0, message: message(1, {
      headers: { ce_specversion: '1.0', ce_id: 'abc', ce_type: 'ecommerce.user_event.v1', ce_source: '/shop', 'content-type': 'application/json', other: 'x' },
    }) }, source);
    expect(event.attributes).toEqual({ specversion: '1.0', id: 'abc', type: 'ecommerce.user_event.v1', source: '/shop', datacontenttype: 'application/json' });
  });
  it('passes a structured-mode CloudEvent through, data unwrapped', () => {
    const value = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'i', type: 't', source: '/s', datacontenttype: 'application/json', data: { a: 1 } }));
    const event = recordToCloudEvent({ topic: 't', partition: 0, message: message(1, { value, headers: { 'content-type': 'application/cloudevents+json' } }) }, source);
    expect(event.attributes).toMatchObject({ id: 'i', type: 't', source: '/s' });
    expect(event.data?.toString()).toBe('{"a":1}');
  });
  it('ceOverrides extensions are added last', () => {
    const event = recordToCloudEvent({ topic: 't', partition: 0, message: message(1) }, source, { team: 'speed' });
    expect(event.attributes.team).toBe('speed');
  });
  it('binary mode puts attributes in percent-encoded ce- headers and defaults content-type to JSON', () => {
    const http = toBinaryHttp({ attributes: { specversion: '1.0', id: 'a b', source: '/s', type: 't', kafkaheaderx: 'é"%' }, data: null });
    expect(http.headers).toEqual({ 'ce-specversion': '1.0', 'ce-id': 'a%20b', 'ce-source': '/s', 'ce-type': 't', 'ce-kafkaheaderx': '%C3%A9%22%25', 'content-type': 'application/json' });
    expect(http.body.length).toBe(0);
    expect(encodeHeaderValue('partition:1/offset:2')).toBe('partition:1/offset:2');
  });
  it('batch mode inlines JSON data and base64-encodes the rest', () => {
    const http = toBatchHttp([
      { attributes: { specversion: '1.0', id: '1', source: '/s', type: 't' }, data: Buffer.from('{"a":1}') },
      { attributes: { specversion: '1.0', id: '2', source: '/s', type: 't', datacontenttype: 'application/octet-stream' }, data: Buffer.from([1, 2]) },
      { attributes: { specversion: '1.0', id: '3', source: '/s', type: 't', datacontenttype: 'application/json' }, data: Buffer.from('not json') },
    ]);
    expect(http.headers['content-type']).toBe('application/cloudevents-batch+json');
    expect(JSON.parse(http.body.toString())).toEqual([
      { specversion: '1.0', id: '1', source: '/s', type: 't', datacontenttype: 'application/json', data: { a: 1 } },
      { specversion: '1.0', id: '2', source: '/s', type: 't', datacontenttype: 'application/octet-stream', data_base64: 'AQI=' },
      { specversion: '1.0', id: '3', source: '/s', type: 't', datacontenttype: 'application/json', data_base64: Buffer.from('not json').toString('base64') },
    ]);
  });
  it('dead-letter extensions carry the status and at most 1024 bytes of the answer, base64', () => {
    expect(errorExtensions({ status: 500, body: Buffer.from('boom'), retryable: true }, 'http://sink/')).toEqual({
      knativeerrordest: 'http://sink/', knativeerrorcode: '500', knativeerrordata: 'Ym9vbQ==' });
    expect(errorExtensions({ error: 'connect ECONNREFUSED', retryable: true }, 'http://sink/')).toEqual({
      knativeerrordest: 'http://sink/', knativeerrordata: Buffer.from('connect ECONNREFUSED').toString('base64') });
    const long = errorExtensions({ status: 503, body: Buffer.alloc(5000, 97), retryable: true }, 'd');
    expect(Buffer.from(long.knativeerrordata ?? '', 'base64').length).toBe(1024);
  });
});

describe('dispatcher config', () => {
  it('fills KafkaSource-like defaults', () => {
    const config = parseDispatcherConfig({ bootstrapServers: '127.0.0.1:9092', topics: 'user_events,transactions', sink: 'http://127.0.0.1:8080' });
    expect(config).toMatchObject({
      brokers: ['127.0.0.1:9092'], topics: ['user_events', 'transactions'], sink: 'http://127.0.0.1:8080/',
      name: 'speed-layer', namespace: 'default', consumerGroup: 'kafkasource-default-speed-layer', ordering: 'ordered',
      initialOffset: 'earliest', maxInFlightPerPartition: 1, batchSize: 0, onExhausted: 'block',
      delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 600_000, deadLetterSink: undefined },
    });
  });
  it('lists every problem at once', () => {
    let error: unknown;
    try {
      parseDispatcherConfig({ bootstrapServers: 'nohost', topics: 'bad topic', sink: 'ftp://x', ordering: 'random',
        delivery: { retry: -1, backoffDelay: '200ms', backoffPolicy: 'fibonacci' }, maxInFlight: 0, deadLetterTopic: 'bad topic',
        ceOverrides: { extensions: { 'Bad-Name': 'x' } }, name: 'Upper' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DispatcherConfigError);
    const problems = (error as DispatcherConfigError).problems.join('\n');
    for (const field of ['bootstrapServers', 'topics', 'sink', 'ordering', 'delivery.retry', 'delivery.backoffDelay',
      'delivery.backoffPolicy', 'maxInFlight', 'deadLetterTopic', 'ceOverrides.extensions', 'name']) {
      expect(problems).toContain(`${field}:`);
    }
  });
  it('reads a KafkaSource object', () => {
    const input = configInputFromJson({
      apiVersion: 'sources.knative.dev/v1', kind: 'KafkaSource', metadata: { name: 'ingest', namespace: 'speed-layer' },
      spec: { bootstrapServers: ['kafka:9092'], topics: ['user_events'], consumerGroup: 'g', ordering: 'unordered',
        sink: { uri: 'http://127.0.0.1:8080/' }, delivery: { retry: 5, backoffPolicy: 'linear', backoffDelay: 'PT1S' } },
    });
    expect(parseDispatcherConfig(input)).toMatchObject({
      name: 'ingest', namespace: 'speed-layer', consumerGroup: 'g', ordering: 'unordered', sink: 'http://127.0.0.1:8080/',
      delivery: { retry: 5, backoffPolicy: 'linear', backoffDelayMs: 1000 },
    });
  });
  it('maps command-line flags over a config file, then KAFKA_BROKERS and the local defaults', () => {
    const cli = parseCliArgs(['--ordering', 'unordered', '--retry', '7', '--ce-extension', 'team=speed', '--batch-size', '50']);
    const input = mergeConfigInput({ ordering: 'ordered', delivery: { backoffDelay: 'PT1S' } }, cli.overrides, { KAFKA_BROKERS: '127.0.0.1:19092' });
    expect(parseDispatcherConfig(input)).toMatchObject({
      brokers: ['127.0.0.1:19092'], topics: ['user_events', 'transactions'], sink: 'http://127.0.0.1:8080/', ordering: 'unordered',
      batchSize: 50, ceExtensions: { team: 'speed' }, delivery: { retry: 7, backoffDelayMs: 1000 },
    });
    expect(() => parseCliArgs(['--no-such-flag'])).toThrow();
  });
});

describe('broker server.properties', () => {
  it('is a single-node KRaft broker with the fast, small single-node settings', () => {
    const props = serverProperties({ port: 9092, controllerPort: 9093, logDir: '/d/logs' });
    expect(props).toMatchObject({
      'process.roles': 'broker,controller', 'node.id': '1', 'controller.quorum.voters': '1@127.0.0.1:9093',
      listeners: 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093', 'advertised.listeners': 'PLAINTEXT://127.0.0.1:9092',
      'offsets.topic.replication.factor': '1', 'transaction.state.log.replication.factor': '1', 'min.insync.replicas': '1',
      'group.initial.rebalance.delay.ms': '0', 'auto.create.topics.enable': 'false', 'num.partitions': '6', 'log.dirs': '/d/logs',
    });
    expect(renderProperties({ a: '1', b: 'x' })).toBe('a=1\nb=x\n');
    expect(serverProperties({ port: 1, controllerPort: 2, logDir: 'l', overrides: { 'num.partitions': 12 } })['num.partitions']).toBe('12');
  });
});
