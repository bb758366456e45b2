import { z } from 'zod';
import { DomainError, Money } from '../../domain/index.js';

// The emails conveyor sends, rendered from the payload of the outbox event that caused them.
// Plain functions rather than a template engine: four short messages do not need one, and
// every interpolation goes through `escapeHtml` (HTML) or `oneLine` (headers) by hand.

export const EMAIL_TEMPLATES = ['welcome', 'order_confirmation', 'shipping_notice', 'cancellation_notice'] as const;
export type EmailTemplateName = (typeof EMAIL_TEMPLATES)[number];

export function isEmailTemplateName(value: string): value is EmailTemplateName {
  return (EMAIL_TEMPLATES as readonly string[]).includes(value);
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export interface RenderContext {
  /** The recipient's name for the greeting of order emails (their payloads carry only a userId). */
  recipientName?: string | null | undefined;
  /** Product name in subjects and signatures; "conveyor" by default. */
  brand?: string | undefined;
}

/** The event payload does not have the shape the template needs: retrying cannot help. */
export class EmailRenderError extends Error {
  readonly code = 'invalid_payload';
  constructor(
    readonly template: string,
    message: string,
  ) {
    super(`${template}: ${message}`);
    this.name = 'EmailRenderError';
  }
}

// Payload shapes, as written by User.register and Order.snapshot(). Extra fields are allowed:
// an event may grow without breaking the emails of events already in the outbox.
const moneyPayload = z.object({ amount: z.string(), currency: z.string() });
const userRegistered = z.object({ userId: z.string(), email: z.string(), name: z.string() });
const orderPayload = z.object({
  orderId: z.string(),
  userId: z.string(),
  items: z
    .array(
      z.object({
        productId: z.string(),
        sku: z.string(),
        name: z.string(),
        quantity: z.int().positive(),
        unitPrice: moneyPayload,
      }),
    )
    .min(1),
  total: moneyPayload,
});
const orderCancelled = orderPayload.extend({ reason: z.string() });

type OrderPayload = z.output<typeof orderPayload>;

/**
 * Renders one email from its event payload. Throws EmailRenderError when the payload does not
 * fit the template (a permanent failure: the payload of a committed event never changes).
 */
export function renderEmail(template: EmailTemplateName, eventPayload: unknown, context: RenderContext = {}): RenderedEmail {
  const brand = oneLine(context.brand ?? 'conveyor');
  const name = greetingName(context);
  try {
    switch (template) {
      case 'welcome':
        return welcome(parse(template, userRegistered, eventPayload), brand);
      case 'order_confirmation':
        return orderConfirmation(parse(template, orderPayload, eventPayload), name, brand);
      case 'shipping_notice':
        return shippingNotice(parse(template, orderPayload, eventPayload), name, brand);
      case 'cancellation_notice':
        return cancellationNotice(parse(template, orderCancelled, eventPayload), name, brand);
    }
  } catch (error) {
    // A malformed amount or currency (Money refuses it) is a payload error like any other.
    if (error instanceof DomainError) throw new EmailRenderError(template, error.message);
    throw error;
  }
}

function parse<S extends z.ZodType>(template: string, schema: S, payload: unknown): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new EmailRenderError(template, `payload does not fit the template (${paths})`);
  }
  return parsed.data;
}

function welcome(user: z.output<typeof userRegistered>, brand: string): RenderedEmail {
  const name = oneLine(user.name);
  return {
    subject: `Welcome to ${brand}, ${name}`,
    text: [
      `Hello ${name},`,
      '',
      `welcome to ${brand}! Your account for ${user.email} is ready, and you can place orders now.`,
      '',
      `The ${brand} team`,
    ].join('\n'),
    html: page(
      `Welcome to ${brand}`,
      [
        `<p>Hello ${escapeHtml(name)},</p>`,
        `<p>welcome to ${escapeHtml(brand)}! Your account for <strong>${escapeHtml(user.email)}</strong> is ready, and you can place orders now.</p>`,
        `<p>The ${escapeHtml(brand)} team</p>`,
      ].join('\n'),
    ),
  };
}

function orderConfirmation(order: OrderPayload, name: string | null, brand: string): RenderedEmail {
  const opening = 'thank you for your order. We have received it and will let you know when it ships.';
  return orderEmail(order, name, brand, {
    subject: (reference, total) => `Order ${reference} received: ${total}`,
    title: 'Order received',
    text: [opening],
    html: [`<p>${opening}</p>`],
  });
}

function shippingNotice(order: OrderPayload, name: string | null, brand: string): RenderedEmail {
  return orderEmail(order, name, brand, {
    subject: (reference) => `Order ${reference} has shipped`,
    title: 'Your order has shipped',
    text: ['good news: your order is on its way.'],
    html: ['<p>good news: your order is on its way.</p>'],
  });
}

function cancellationNotice(order: z.output<typeof orderCancelled>, name: string | null, brand: string): RenderedEmail {
  return orderEmail(order, name, brand, {
    subject: (reference) => `Order ${reference} was cancelled`,
    title: 'Your order was cancelled',
    text: ['your order has been cancelled.', `Reason: ${order.reason}`],
    html: ['<p>your order has been cancelled.</p>', `<p><strong>Reason:</strong> ${escapeHtml(order.reason)}</p>`],
  });
}

/** What the order emails share: a greeting, their own opening, the order's lines and total, the signature. */
function orderEmail(
  order: OrderPayload,
  name: string | null,
  brand: string,
  own: { subject: (reference: string, total: string) => string; title: string; text: string[]; html: string[] },
): RenderedEmail {
  const lines = orderLines(order);
  const total = show(toMoney(order.total));
  return {
    subject: own.subject(orderReference(order.orderId), total),
    text: [greeting(name), '', ...own.text, '', ...orderText(order, lines, total), '', `The ${brand} team`].join('\n'),
    html: page(
      own.title,
      [
        `<p>${escapeHtml(greeting(name))}</p>`,
        ...own.html,
        orderHtml(order, lines, total),
        `<p>The ${escapeHtml(brand)} team</p>`,
      ].join('\n'),
    ),
  };
}

interface Line {
  name: string;
  sku: string;
  quantity: number;
  unitPrice: string;
  lineTotal: string;
}

function orderLines(order: OrderPayload): Line[] {
  return order.items.map((item) => {
    const unit = toMoney(item.unitPrice);
    return {
      name: item.name,
      sku: item.sku,
      quantity: item.quantity,
      unitPrice: show(unit),
      lineTotal: show(unit.times(item.quantity)),
    };
  });
}

function orderText(order: OrderPayload, lines: Line[], total: string): string[] {
  return [
    `Order ${order.orderId}`,
    ...lines.map((line) => `  ${line.quantity} x ${oneLine(line.name)} (${line.sku}) at ${line.unitPrice}: ${line.lineTotal}`),
    `Total: ${total}`,
  ];
}

function orderHtml(order: OrderPayload, lines: Line[], total: string): string {
  const rows = lines.map(
    (line) =>
      `<tr><td>${escapeHtml(line.name)}<br><small>${escapeHtml(line.sku)}</small></td>` +
      `<td style="text-align:right">${line.quantity}</td>` +
      `<td style="text-align:right">${escapeHtml(line.unitPrice)}</td>` +
      `<td style="text-align:right">${escapeHtml(line.lineTotal)}</td></tr>`,
  );
  return [
    `<p>Order <code>${escapeHtml(order.orderId)}</code></p>`,
    '<table cellpadding="6" style="border-collapse:collapse">',
    '<thead><tr><th align="left">Item</th><th align="right">Quantity</th><th align="right">Unit price</th><th align="right">Amount</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    `<tfoot><tr><th align="left" colspan="3">Total</th><th align="right">${escapeHtml(total)}</th></tr></tfoot>`,
    '</table>',
  ].join('\n');
}

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html><head><meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family:sans-serif">',
    body,
    '</body></html>',
  ].join('\n');
}

function greetingName(context: RenderContext): string | null {
  const name = context.recipientName ? oneLine(context.recipientName) : '';
  return name.length > 0 ? name : null;
}

function greeting(name: string | null): string {
  return name ? `Hello ${name},` : 'Hello,';
}

/** Exact decimal arithmetic through the domain's Money, never floats. */
function toMoney(value: { amount: string; currency: string }): Money {
  return Money.parse(value.amount, value.currency);
}

/** Money as people read it in an email: "12.50 EUR". */
function show(money: Money): string {
  return `${money.toDecimalString()} ${money.currency}`;
}

/**
 * A short reference for subjects: the last 8 hex digits of the order id. (The leading digits
 * of a UUIDv7 are its timestamp and repeat between orders placed close together.) The full
 * id is in the body.
 */
export function orderReference(orderId: string): string {
  return orderId.replaceAll('-', '').slice(-8).toUpperCase();
}

/** Collapses line breaks and runs of whitespace, for headers and one-line text. */
function oneLine(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}
