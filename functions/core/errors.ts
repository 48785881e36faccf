/** An infrastructure fault (ClickHouse, PostgreSQL, Kafka): says whether a retry may help. */
export class InfraError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfraError';
  }
}

/**
 * The request itself is malformed (not a CloudEvent, wrong content type): answered 4xx with the
 * problem body `{code, field, detail}`. Details quote input only JSON-encoded and truncated
 * (`quote` in result.ts); the body caps them again, so no path can echo a large input.
 */
export class EnvelopeError extends Error {
  constructor(
    readonly code: string,
    readonly field: string | undefined,
    detail: string,
    readonly status = 400,
  ) {
    super(detail);
    this.name = 'EnvelopeError';
  }
  toJSON() {
    return { code: this.code, field: this.field?.slice(0, 128), detail: this.message.slice(0, 512) };
  }
}

/** The function cannot take more work now (buffer full, ClickHouse down): answered 503. */
export class BackpressureError extends Error {
  constructor(readonly detail: string, readonly retryAfterS = 1, options?: { cause?: unknown }) {
    super(detail, options);
    this.name = 'BackpressureError';
  }
}
