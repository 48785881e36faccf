import { CloudEvent, HTTP } from 'cloudevents';
import { EVENT_CE_TYPE, TRANSACTION_CE_TYPE } from '../functions/cloudevents/index.js';
import type { GeneratedRecord } from './simulate.js';

/**
 * Producers' side of the CloudEvents contract, built with the official SDK (so the ingest's own
 * decoder is checked against an independent encoder): records become CloudEvents, and CloudEvents
 * become HTTP requests in binary, structured or batch mode.
 */
export type Mode = 'binary' | 'structured' | 'batch';
export const MODES: readonly Mode[] = ['binary', 'structured', 'batch'];
export const GENERATOR_SOURCE = '/speed-layer/generator';

export function toCloudEvent(rec: GeneratedRecord, source = GENERATOR_SOURCE): CloudEvent<unknown> {
  const kind = rec.kind === 'invalid' ? rec.as : rec.kind;
  const type = kind === 'event' ? EVENT_CE_TYPE : TRANSACTION_CE_TYPE;
  if (rec.kind === 'invalid') {
    // A broken body is sent as it is; as text it survives structured mode's JSON envelope too.
    return new CloudEvent({ id: rec.id, source, type, datacontenttype: 'text/plain', data: rec.raw }, false);
  }
  const data = rec.kind === 'event' ? rec.event : rec.transaction;
  return new CloudEvent({ id: rec.id, source, type, datacontenttype: 'application/json', time: data.timestamp, data }, false);
}

export type HttpMessage = { headers: Record<string, string>; body: string };

export function encode(mode: Mode, events: readonly CloudEvent<unknown>[]): HttpMessage {
  if (mode === 'batch') {
    const body = `[${events.map((e) => HTTP.structured(e).body as string).join(',')}]`;
    return { headers: { 'content-type': 'application/cloudevents-batch+json' }, body };
  }
  if (events.length !== 1) throw new Error(`${mode} mode carries exactly one event per request`);
  const m = mode === 'binary' ? HTTP.binary(events[0]!) : HTTP.structured(events[0]!);
  return { headers: m.headers as Record<string, string>, body: typeof m.body === 'string' ? m.body : JSON.stringify(m.body) };
}

export async function post(url: string, msg: HttpMessage): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: msg.headers, body: msg.body });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* not JSON: keep the text */ }
  return { status: res.status, body };
}

/**
 * Sends records in a mode with bounded concurrency (per-event modes need many requests in flight:
 * each is answered only once its micro-batch is stored), retrying 503s after their Retry-After.
 */
export async function sendAll(url: string, mode: Mode, records: readonly GeneratedRecord[], opts: { concurrency?: number; batchSize?: number } = {}) {
  const size = mode === 'batch' ? (opts.batchSize ?? 500) : 1;
  const chunks: GeneratedRecord[][] = [];
  for (let i = 0; i < records.length; i += size) chunks.push(records.slice(i, i + size));
  const answers: { status: number; body: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      const msg = encode(mode, chunk.map((r) => toCloudEvent(r)));
      for (let attempt = 0; ; attempt++) {
        const a = await post(url, msg);
        if (a.status !== 503 || attempt >= 20) { answers.push(a); break; }
        await new Promise((r) => setTimeout(r, 250 * (attempt + 1)));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 64, chunks.length) }, worker));
  return answers;
}
