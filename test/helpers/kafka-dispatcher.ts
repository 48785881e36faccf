import { afterEach } from 'vitest';
import { parseDispatcherConfig, type DispatcherConfigInput } from '../../local/dispatcher/config.js';
import { createDispatcher, type Dispatcher } from '../../local/dispatcher/dispatcher.js';
import { randomTopic, testLogger } from './kafka-env.js';
import type { SinkServer } from './kafka-sink-server.js';

/** Dispatchers and sinks a test started; stopped after each test even when it fails. */
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.().catch(() => undefined);
});

export function onCleanup(fn: () => Promise<void>): void {
  cleanups.push(fn);
}

/** A started in-process dispatcher with its own consumer group, stopped after the test. */
export type TestDispatcher = Dispatcher & { readonly group: string };

export async function startTestDispatcher(input: DispatcherConfigInput & { readonly bootstrapServers: string }): Promise<TestDispatcher> {
  const config = parseDispatcherConfig({
    consumerGroup: randomTopic('group'),
    commitInterval: 'PT0.2S',
    sessionTimeout: 'PT6S',
    drainTimeout: 'PT5S',
    ...input,
  });
  const dispatcher = createDispatcher(config, { logger: testLogger() });
  onCleanup(() => dispatcher.stop());
  await dispatcher.start();
  return { ...dispatcher, group: config.consumerGroup };
}

export function closeAfterTest(sink: SinkServer): SinkServer {
  onCleanup(() => sink.close());
  return sink;
}

/** A request header as one string (node gives string[] only for set-cookie). */
export function header(request: { readonly headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
