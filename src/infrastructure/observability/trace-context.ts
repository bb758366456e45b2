import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * W3C trace context headers (`traceparent`, `tracestate`) as stored with an outbox row and
 * carried in BullMQ job options, so a trace runs from the HTTP request through the command
 * job and the relay to each email and webhook job.
 */
export type TraceCarrier = Record<string, string>;

/** The trace context of the active span, or null when tracing is off or no span is active. */
export function activeTraceCarrier(): TraceCarrier | null {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : null;
}

/** A span that continues a stored trace context, and that span's context as BullMQ job metadata. */
export interface ContinuedSpan {
  span: Span;
  /** For `JobsOptions.telemetry.metadata` (the JSON BullMQOtel reads): the job's spans become children. */
  jobMetadata: string | undefined;
}

/**
 * Starts a span whose parent is the stored `carrier` (PRODUCER: it hands work on). Without a
 * carrier, or with tracing off, there is nothing to continue: returns undefined.
 */
export function continueTrace(
  carrier: TraceCarrier | null | undefined,
  name: string,
  attributes: Attributes,
): ContinuedSpan | undefined {
  if (!carrier || Object.keys(carrier).length === 0) return undefined;
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  if (!trace.getSpanContext(parent)) return undefined;
  const span = trace.getTracer('conveyor').startSpan(name, { kind: SpanKind.PRODUCER, attributes }, parent);
  const downstream: TraceCarrier = {};
  propagation.inject(trace.setSpan(parent, span), downstream);
  return { span, jobMetadata: Object.keys(downstream).length > 0 ? JSON.stringify(downstream) : undefined };
}

/**
 * Runs `work` in a span that is a child of `parent` (CONSUMER: it carries out what `parent`
 * handed on, as a job's span does), ended when `work` settles; a throw marks it as an error.
 */
export async function inChildSpan<T>(parent: Span, name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  const within = trace.setSpan(context.active(), parent);
  const span = trace.getTracer('conveyor').startSpan(name, { kind: SpanKind.CONSUMER, attributes }, within);
  try {
    return await context.with(trace.setSpan(within, span), work);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
