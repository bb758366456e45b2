import type { FastifyReply } from 'fastify';

/**
 * The requests that stay open while a command runs (GET ?wait=, the events stream). Each gets an
 * AbortSignal that fires when its client goes away, or when the server shuts down: then a wait
 * answers with the status as it is and a stream ends, instead of holding the shutdown up.
 */
export class LiveRequests {
  private readonly controllers = new Set<AbortController>();

  /** A signal for the request of `reply`, aborted when its connection closes or on `stopAll`. */
  open(reply: FastifyReply): AbortSignal {
    const controller = new AbortController();
    this.controllers.add(controller);
    reply.raw.once('close', () => {
      controller.abort();
      this.controllers.delete(controller);
    });
    return controller.signal;
  }

  get size(): number {
    return this.controllers.size;
  }

  stopAll(): void {
    for (const controller of this.controllers) controller.abort();
    this.controllers.clear();
  }
}
