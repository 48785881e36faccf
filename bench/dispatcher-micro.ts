/**
 * CPU per request of the local dispatcher's delivery path (partition lane → limiter → delivery →
 * HTTP sender), without Kafka: records are fed straight into a PartitionLane and POSTed to a
 * node:http server in a child process that answers like the ingest does, all held requests at
 * once every `--flush` ms (its micro-batch), or each after `--delay` ms. Only the client's CPU is
 * counted (process.cpuUsage over the measured requests, after a warm-up).
 *
 *   npx tsx bench/dispatcher-micro.ts [--impl local/dispatcher] [--requests 60000] [--warmup 10000]
 *       [--concurrency 5000] [--flush 1000 | --delay 500] [--keep-alive 5000] [--timeout ISO8601] [--rate N]
 *
 * Without --rate the lane is kept full (closed loop); with --rate N records arrive at N/s whatever
 * the answers (open loop, as from Kafka), so sockets come free in bursts at each flush, e.g.
 *
 *   npx tsx bench/dispatcher-micro.ts --rate 3000 --flush 2000 --concurrency 10000 --requests 40000 --warmup 6000
 *
 * `--impl DIR` loads the dispatcher from another directory, to compare two versions on the same
 * machine: `git archive REV local/dispatcher | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/`,
 * then `--impl /tmp/old/local/dispatcher`. Prints one JSON line: CPU µs per request (user +
 * system), new connections the server accepted while measuring, attempts and retries.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';

const { values: opts } = parseArgs({
  options: {
    impl: { type: 'string', default: 'local/dispatcher' },
    requests: { type: 'string', default: '60000' },
    warmup: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '5000' },
    flush: { type: 'string', default: '1000' },
    delay: { type: 'string' },
    'keep-alive': { type: 'string', default: '5000' },
    timeout: { type: 'string' },
    rate: { type: 'string' },
  },
});
const total = Number(opts.requests);
const warmup = Number(opts.warmup);
const concurrency = Number(opts.concurrency);

// The server: Node's defaults except keepAliveTimeout; answers 200 with a small JSON body.
const serverCode = `
const http = require('node:http');
let connections = 0, held = [], requests = 0;
const delay = ${opts.delay === undefined ? 'undefined' : Number(opts.delay)};
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    requests += 1;
    const answer = () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"accepted":1}'); };
    if (delay !== undefined) setTimeout(answer, delay); else held.push(answer);
  });
});
server.keepAliveTimeout = ${Number(opts['keep-alive'])};
server.maxRequestsPerSocket = 0;
server.on('connection', () => { connections += 1; });
if (delay === undefined) setInterval(() => { const h = held; held = []; for (const a of h) a(); }, ${Number(opts.flush)});
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', () => process.send({ connections, requests }));
`;
const server = spawn(process.execPath, ['-e', serverCode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
const ask = <T>(msg?: string): Promise<T> => new Promise((res) => { server.once('message', (m) => res(m as T)); if (msg !== undefined) server.send(msg); });
const { port } = await ask<{ port: number }>();

const dir = pathToFileURL(resolve(opts.impl)).href;
const { parseDispatcherConfig } = await import(`${dir}/config.ts`);
const { createDelivery } = await import(`${dir}/delivery.ts`);
const { createHttpSender } = await import(`${dir}/http-sender.ts`);
const { createLimiter } = await import(`${dir}/limiter.ts`);
const { PartitionLane } = await import(`${dir}/partition-lane.ts`);

const config = parseDispatcherConfig({
  bootstrapServers: '127.0.0.1:9092', topics: 't', sink: `http://127.0.0.1:${port}/`, ordering: 'unordered',
  maxInFlight: concurrency, maxInFlightPerPartition: concurrency,
  delivery: { retry: 5, backoffPolicy: 'exponential', backoffDelay: 'PT0.2S', timeout: opts.timeout },
});
const sender = createHttpSender(config.maxInFlight);
const counters = { attempts: 0, retries: 0, failedAttempts: 0, failureReasons: {} as Record<string, number>, blockedRounds: 0 };
const deliver = createDelivery(config, { sender, counters, logger: pino({ level: 'silent' }) });
const limiter = createLimiter(config.maxInFlight);

const value = Buffer.from(JSON.stringify({ specversion: '1.0', type: 'product_view', user_id: 'u-123456', product_id: 'p-42', ts: new Date().toISOString() }));
let pushed = 0;
let settled = 0;
let startCpu: NodeJS.CpuUsage | undefined;
let startAt = 0;
let startConnections = 0;
let finish: () => void = () => undefined;
const finished = new Promise<void>((r) => { finish = r; });

const lane = new PartitionLane({
  topic: 't', partition: 0, concurrency, unitSize: 1, limiter, deliver,
  onOutcome: (_outcome: string, count: number) => {
    settled += count;
    if (settled === warmup) {
      startCpu = process.cpuUsage();
      startAt = performance.now();
      void ask<{ connections: number }>('stats').then((s) => { startConnections = s.connections; });
    }
    if (settled === total) finish();
  },
  onSettled: () => { if (rate === undefined) feed(); },
  onUnexpectedError: (error: unknown) => { throw error; },
});

function feed(): void {
  // Like kafkajs's eachBatch: top the lane up in runs, then pump once.
  if (lane.backlog() > concurrency) return;
  const end = Math.min(total, pushed + 1000);
  for (; pushed < end; pushed++) {
    lane.push(record(pushed));
  }
  lane.pump();
}

function record(offset: number): KafkaMessage {
  return { offset: String(offset), key: Buffer.from(`u-${offset % 997}`), value, headers: { 'content-type': 'application/json' }, timestamp: String(Date.now()), attributes: 0, size: value.length } as unknown as KafkaMessage;
}
const rate = opts.rate === undefined ? undefined : Number(opts.rate);
if (rate === undefined) {
  for (let i = 0; i < concurrency / 1000 + 1; i++) feed();
} else {
  // Open loop, as records arrive from Kafka: rate/100 every 10 ms whatever the answers.
  const started = performance.now();
  const tick = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; pushed < due; pushed++) lane.push(record(pushed));
    lane.pump();
    if (pushed >= total) clearInterval(tick);
  }, 10);
}

await finished;
const cpu = process.cpuUsage(startCpu);
const wallS = (performance.now() - startAt) / 1000;
const server2 = await ask<{ connections: number; requests: number }>('stats');
const measured = total - warmup;
const us = (cpu.user + cpu.system) / measured;
process.stdout.write(`${JSON.stringify({
  impl: opts.impl, measured, concurrency, flushMs: opts.delay === undefined ? Number(opts.flush) : undefined, delayMs: opts.delay === undefined ? undefined : Number(opts.delay),
  cpuUsPerRequest: Math.round(us * 10) / 10, userUs: Math.round(cpu.user / measured), systemUs: Math.round(cpu.system / measured),
  requestsPerS: Math.round(measured / wallS), newConnectionsMeasured: server2.connections - startConnections, connectionsTotal: server2.connections,
  attempts: counters.attempts, retries: counters.retries, failedAttempts: counters.failedAttempts,
})}\n`);
sender.close();
server.kill();
process.exit(0);
