// The memory unit and the error every derivation throws (see charts/values.ts).

export const GiB = 1024;

export class ValuesError extends Error {
  override readonly name = 'ValuesError';
}

/** Throws a ValuesError unless `ok`: the message names the value, shows it, and gives a hint. */
export function ensure(ok: boolean, what: string, value: unknown, hint: string): void {
  if (!ok) throw new ValuesError(`${what} = ${JSON.stringify(value)}: ${hint}`);
}
