import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Telemetry } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { FastifyPluginCallback } from 'fastify';

export interface TracingOptions {
  /** `service.name` of every span of this process. */
  serviceName: string;
  /** The process role (web, worker, ...), recorded as `conveyor.role`. */
  role: string;
  /**
   * Where finished spans go. Default: batched to the OTLP/HTTP exporter, which reads
   * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and
   * OTEL_EXPORTER_OTLP_HEADERS itself. Tests pass an in-memory exporter.
   */
  spanProcessor?: SpanProcessor;
}

/** What the rest of a process needs to take part in tracing. */
export interface Tracing {
  /** BullMQ's `telemetry` option for every Queue and Worker: producer and consumer spans, context in job options. */
  bullmq: Telemetry;
  /** The Fastify plugin (@fastify/otel) that opens a server span per request, continuing an incoming `traceparent`. */
  fastifyPlugin: FastifyPluginCallback;
  /** Flushes the spans still buffered and unregisters the global tracer. */
  shutdown(): Promise<void>;
}

/** Paths not worth a trace: probes and scrapes, every few seconds. */
function ignored(route: { url: string }): boolean {
  return route.url.startsWith('/health/') || route.url === '/metrics' || route.url.startsWith('/metrics?');
}

/**
 * Turns OpenTelemetry tracing on for this process: registers a global tracer provider (with
 * the AsyncLocalStorage context manager and W3C propagation), and returns the BullMQ and
 * Fastify hooks. Nothing is patched at load time, so the order of imports does not matter:
 * spans come from @fastify/otel (registered as a plugin), bullmq-otel, and conveyor's own
 * outbox relay.
 */
export function startTracing(options: TracingOptions): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'conveyor.role': options.role }),
    spanProcessors: [options.spanProcessor ?? new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  });
  // What NodeTracerProvider.register() did in SDK 2.x: OpenTelemetry JS 3 leaves the global
  // set-up to the application.
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(
    new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
  );
  trace.setGlobalTracerProvider(provider);
  const fastify = new FastifyOtelInstrumentation({
    // One span per request and one for its handler; a span per hook (auth, metrics) is noise.
    instrumentHooks: false,
    ignorePaths: ignored,
    requestHook: (span, request) => {
      span.updateName(`${request.method} ${request.routeOptions.url ?? '(unmatched)'}`);
    },
  });
  return {
    bullmq: new BullMQOtel({ tracerName: 'conveyor' }),
    fastifyPlugin: fastify.plugin(),
    async shutdown() {
      fastify.disable();
      await provider.shutdown();
      trace.disable();
      context.disable();
      contextManager.disable();
      propagation.disable();
    },
  };
}
