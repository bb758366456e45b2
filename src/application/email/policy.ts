import type { EmailTemplateName } from './templates.js';

/** What the policy needs to know of an outbox event. */
export interface EmailingEvent {
  type: string;
  payload: Readonly<Record<string, unknown>>;
}

/** Who an email goes to: an address the event carries, or the user it names (whose address is looked up). */
export type EmailRecipient = { address: string } | { userId: string };

export interface EmailToSend {
  template: EmailTemplateName;
  /** Null when the event names nobody: no email can be sent (the relay logs it). */
  to: EmailRecipient | null;
}

const TEMPLATES_BY_EVENT: Readonly<Record<string, readonly EmailTemplateName[]>> = {
  'user.registered': ['welcome'],
  'order.placed': ['order_confirmation'],
  'order.shipped': ['shipping_notice'],
  'order.cancelled': ['cancellation_notice'],
};

/**
 * The emails an event sends (the relay creates one email_messages row for each):
 *  - user.registered sends `welcome`, order.placed `order_confirmation`, order.shipped
 *    `shipping_notice`, order.cancelled `cancellation_notice`; every other event sends none;
 *  - each goes to the user the event concerns: to the address the event carries (`email`, as
 *    user.registered does), else to the user whose id it carries (`userId`, as order events do).
 */
export function emailsForEvent(event: EmailingEvent): EmailToSend[] {
  const templates = Object.hasOwn(TEMPLATES_BY_EVENT, event.type) ? (TEMPLATES_BY_EVENT[event.type] ?? []) : [];
  const to = recipientOf(event);
  return templates.map((template) => ({ template, to }));
}

function recipientOf({ payload }: EmailingEvent): EmailRecipient | null {
  if (typeof payload.email === 'string') return { address: payload.email };
  if (typeof payload.userId === 'string') return { userId: payload.userId };
  return null;
}
