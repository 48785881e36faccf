import { parseArgs } from 'node:util';
import type { Mode } from '../../generator/cloudevents.js';

export interface StartArgs {
  readonly rate: number;
  readonly mode: Mode;
  readonly kafka: boolean;
  readonly seed: number;
  /** Seconds between status lines. */
  readonly statusEvery: number;
  readonly help: boolean;
}

export const START_USAGE = `npm start -- [--rate N] [--mode binary|structured|batch] [--kafka] [--seed S]
  --rate N          generated events per second (0: none, the speed layer just listens)   [200]
  --mode M          how the generator sends CloudEvents over HTTP                         [batch]
  --kafka           a local Kafka broker (started unless KAFKA_BROKERS is set) and the
                    KafkaSource-like dispatcher; the generator (if any) produces to it
  --seed S          the live shop's random seed                                           [1]
  --status-every S  seconds between status lines                                          [5]`;

/** `npm start`'s options; a bad value throws naming it. */
export function parseStartArgs(argv: readonly string[]): StartArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      rate: { type: 'string', default: '200' },
      mode: { type: 'string', default: 'batch' },
      kafka: { type: 'boolean', default: false },
      seed: { type: 'string', default: '1' },
      'status-every': { type: 'string', default: '5' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const rate = Number(values.rate);
  if (!Number.isFinite(rate) || rate < 0) throw new Error(`--rate must be a number >= 0, got ${values.rate}`);
  const mode = values.mode as Mode;
  if (!['binary', 'structured', 'batch'].includes(mode)) throw new Error(`--mode must be binary, structured or batch, got ${mode}`);
  const statusEvery = Number(values['status-every']);
  if (!Number.isFinite(statusEvery) || statusEvery <= 0) throw new Error(`--status-every must be a number > 0, got ${values['status-every']}`);
  return { rate, mode, kafka: values.kafka, seed: Number(values.seed), statusEvery, help: values.help };
}
