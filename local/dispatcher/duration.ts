/**
 * ISO-8601 durations as Knative's delivery spec writes them (`PT0.2S`, `PT1M30S`, `P1DT2H`).
 * Years and months have no fixed length, so they are refused rather than guessed.
 */
const ISO_DURATION = /^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Milliseconds in the duration, or undefined when the text is not a supported ISO-8601 duration. */
export function parseIsoDurationMs(text: string): number | undefined {
  const match = ISO_DURATION.exec(text.trim().toUpperCase());
  if (!match || text.trim().toUpperCase() === 'P' || /T$/i.test(text.trim())) return undefined;
  const [, weeks, days, hours, minutes, seconds] = match;
  const n = (v: string | undefined): number => (v === undefined ? 0 : Number(v));
  const ms = ((((n(weeks) * 7 + n(days)) * 24 + n(hours)) * 60 + n(minutes)) * 60 + n(seconds)) * 1000;
  return Math.round(ms);
}
