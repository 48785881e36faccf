/**
 * The V8 flags the ingest (and the local dispatcher) run with: `npm start`, `npm run ingest`,
 * `npm run dispatcher`, the image's default command and the bench pass these (a test keeps them
 * equal). The charts do not yet: at 96 MiB more per ingest pod the 7 GB pool's budget
 * (charts/values) no longer fits the design load's ingest pods plus a rollout surge.
 *
 * Every request is held until its micro-batch is stored (hundreds of milliseconds). With V8's
 * default 16 MiB semi-space those requests outlive a scavenge, are promoted, and collecting them
 * cost ~50 µs of GC threads per event; with 32 MiB most die young (bench/ingest-micro.ts, 3,000/s:
 * GC threads 50 → 22-30 µs, main thread 115 → 81-121 µs; docs/ingest-flush.md). V8's young
 * generation is three semi-spaces, so this costs up to 96 MiB under load.
 */
export const SEMI_SPACE_MIB = 32;
export const NODE_FLAGS = [`--max-semi-space-size=${SEMI_SPACE_MIB}`] as const;
