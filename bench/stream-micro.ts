/**
 * CPU per record of the bench's stream (bench/stream.ts), which runs in the load generator beside
 * the system under test on the same 2 cores: primes it at `--rate` (visits under way, users inside
 * their timeout, as in a long run), then takes `--seconds` of records at that rate with a simulated
 * clock in 10 ms ticks, as the load loop does. Only this process's CPU is counted (process.cpuUsage).
 *
 *   npx tsx bench/stream-micro.ts [--rate 10000] [--seconds 30] [--prime 2400]
 *
 * Prints one JSON line: µs of CPU per record taken, the prime's CPU seconds, visits held, heap.
 */
import { parseArgs } from 'node:util';
import { defaultPopulation } from './population.js';
import { createStream, PRIME_S, STREAM_DEFAULTS } from './stream.js';

const { values: a } = parseArgs({ options: { rate: { type: 'string', default: '10000' }, seconds: { type: 'string', default: '30' }, prime: { type: 'string', default: String(PRIME_S) } } });
const rate = Number(a.rate);
const population = defaultPopulation(rate);
const now = Date.now();
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

const stream = createStream({ seed: 1, population, ...STREAM_DEFAULTS });
const c0 = cpu();
stream.prime(rate, now, Number(a.prime));
const primeS = cpu() - c0;
let taken = 0;
const c1 = cpu();
const session = process.env.PROFILE_TAKE ? await (async () => { const { Session } = await import("node:inspector/promises"); const s = new Session(); s.connect(); await s.post("Profiler.enable"); await s.post("Profiler.start"); return s; })() : undefined;
for (let t = now; t < now + Number(a.seconds) * 1000; t += 10) taken += stream.take(rate / 100, t).length;
if (session) { const { profile } = await session.post("Profiler.stop"); (await import("node:fs")).writeFileSync(process.env.PROFILE_TAKE!, JSON.stringify(profile)); }
const takeS = cpu() - c1;
console.log(JSON.stringify({
  rate, population, records: taken,
  cpu_us_per_record: Math.round((takeS / taken) * 1e7) / 10,
  cores_at_rate: Math.round(((takeS / taken) * rate) * 1000) / 1000,
  prime_cpu_s: Math.round(primeS * 10) / 10,
  visits_held: stream.pending, collisions: stream.stats.collisions,
  heap_mib: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
}));
