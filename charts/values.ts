/**
 * Every number of the deployment, in one place, with its reason; and everything that follows
 * from them (requests, limits, max-scale, pool shares, PostgreSQL pool size, ClickHouse slots,
 * KafkaSource in-flight capacity) derived here, never written twice.
 *
 * `deriveValues(inputs)` checks the arithmetic and throws a `ValuesError` that names the value,
 * shows the numbers and says what to change. Charts import `values` (the defaults, derived once);
 * tests call `deriveValues` with other inputs.
 *
 * Memory is in MiB throughout (1 GiB = 1024 MiB). "The 7 GB pool" of the seed is read as 7 GiB.
 */

export * from './values/errors.js';
export * from './values/inputs.js';
export { DEFAULT_INPUTS } from './values/defaults.js';
export * from './values/derive.js';
export * from './values/names.js';
export * from './values/sessionizer-state.js';

import { deriveValues, type Values } from './values/derive.js';

/** The deployment's values: the defaults, derived and checked once. */
export const values: Values = deriveValues();
