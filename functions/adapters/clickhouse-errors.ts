import { InfraError } from '../core/errors.js';

/**
 * ClickHouse error codes that mean "this data will never be accepted" (parse and type errors): no
 * retry can help. Everything else (network, timeouts, too many parts, memory) is retriable.
 * A parse error missing from this list wedges the stream (every later request gets 503): 25 (a lone
 * surrogate), 376 (a UUID) and 691 (an enum element) were seen doing it, the first two through the
 * fuzz; test/integration/batch-writer.test.ts stores past 25, 376 and 41.
 */
export const PERMANENT_CODES: ReadonlySet<string> = new Set(['6', '25', '26', '27', '38', '41', '53', '69', '70', '72', '117', '130', '131', '190', '321', '349', '376', '407', '467', '691']);

/** A failed insert as an InfraError: retriable unless the server's code says the data is at fault. */
export function insertError(err: unknown, table: string): InfraError {
  if (err instanceof InfraError) return err;
  const code = String((err as { code?: unknown }).code ?? '');
  return new InfraError(`ClickHouse insert into ${table} failed: ${(err as Error)?.message ?? String(err)}`, !PERMANENT_CODES.has(code), { cause: err });
}
