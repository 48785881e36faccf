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

/** The request itself is malformed (not a CloudEvent, wrong content type): answered 4xx. */
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
    return { code: this.code, field: this.field, detail: this.message };
  }
}

/** The function cannot take more work now (buffer full, ClickHouse down): answered 503. */
export class BackpressureError extends Error {
  constructor(readonly detail: string, readonly retryAfterS = 1) {
    super(detail);
    this.name = 'BackpressureError';
  }
}
