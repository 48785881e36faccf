import kafkajs, { type KafkaConfig, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.js';

const { Kafka, logLevel } = kafkajs;

/**
 * Retries sized for a local broker that may restart under our feet (tests restart it on
 * purpose): about half a minute of attempts before kafkajs gives up and the caller decides.
 */
export const CLIENT_RETRY = { initialRetryTime: 250, maxRetryTime: 5_000, retries: 12 } as const;

export function parseBrokers(brokers: string | readonly string[]): string[] {
  const list = (typeof brokers === 'string' ? brokers.split(',') : [...brokers]).map((b) => b.trim()).filter(Boolean);
  if (list.length === 0) throw new Error('no Kafka brokers given (expected host:port[,host:port])');
  return list;
}

/** kafkajs logs through pino; its ERROR lines for retried, transient states become warnings. */
function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ level, log }) => {
    const { message, ...extra } = log;
    const fields = { ...extra, kafkajs: log.logger };
    if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(fields, message);
    else if (level === logLevel.INFO) logger.debug(fields, message);
    else logger.trace(fields, message);
  };
}

export function createKafkaClient(
  brokers: string | readonly string[],
  options: { readonly clientId: string; readonly logger?: Logger; readonly config?: Partial<KafkaConfig> },
): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId: options.clientId,
    brokers: parseBrokers(brokers),
    retry: { ...CLIENT_RETRY },
    connectionTimeout: 3_000,
    logLevel: options.logger ? logLevel.WARN : logLevel.NOTHING,
    ...(options.logger ? { logCreator: pinoLogCreator(options.logger) } : {}),
    ...options.config,
  });
}
