import { describe, expect, it } from 'vitest';
import {
  EMAIL_TEMPLATES,
  EmailRenderError,
  escapeHtml,
  isEmailTemplateName,
  orderReference,
  renderEmail,
} from '../../../../src/application/email/templates.js';

const orderId = '01936a5e-7c1d-7000-8000-00000000beef';
const order = {
  orderId,
  userId: '01936a5e-0000-7000-8000-000000000001',
  status: 'pending',
  items: [
    { productId: 'p1', sku: 'W-1', name: 'Widget', quantity: 3, unitPrice: { amount: '2.50', currency: 'EUR' } },
    { productId: 'p2', sku: 'G-2', name: 'Gadget <Pro> & "friends"', quantity: 1, unitPrice: { amount: '19.99', currency: 'EUR' } },
  ],
  total: { amount: '27.49', currency: 'EUR' },
};

/** The confirmation of `order` with one line instead: `quantity` × `name` (SKU S) at `unitPrice`, `total` in its currency. */
const oneLineConfirmation = (name: string, quantity: number, unitPrice: { amount: string; currency: string }, total: string) =>
  renderEmail('order_confirmation', {
    ...order,
    items: [{ productId: 'p', sku: 'S', name, quantity, unitPrice }],
    total: { amount: total, currency: unitPrice.currency },
  });

describe('email templates', () => {
  it('names only known templates', () => {
    expect(EMAIL_TEMPLATES.every(isEmailTemplateName)).toBe(true);
    expect(isEmailTemplateName('invoice')).toBe(false);
  });
});

describe('renderEmail', () => {
  it('welcome greets the user by name and names the address', () => {
    const email = renderEmail('welcome', { userId: 'u1', email: 'ann@example.com', name: 'Ann' });
    expect(email.subject).toBe('Welcome to conveyor, Ann');
    expect(email.text).toContain('Hello Ann,');
    expect(email.text).toContain('ann@example.com');
    expect(email.html).toContain('<strong>ann@example.com</strong>');
  });

  it('order confirmation lists every line with exact amounts and the total', () => {
    const email = renderEmail('order_confirmation', order, { recipientName: 'Ann' });
    expect(email.subject).toBe('Order 0000BEEF received: 27.49 EUR');
    expect(email.text).toContain('Hello Ann,');
    expect(email.text).toContain(`Order ${orderId}`);
    expect(email.text).toContain('  3 x Widget (W-1) at 2.50 EUR: 7.50 EUR');
    expect(email.text).toContain('  1 x Gadget <Pro> & "friends" (G-2) at 19.99 EUR: 19.99 EUR');
    expect(email.text).toContain('Total: 27.49 EUR');
    expect(email.html).toContain('<td style="text-align:right">7.50 EUR</td>');
    expect(email.html).toContain('<th align="right">27.49 EUR</th>');
  });

  it('computes line amounts exactly, without floating-point error', () => {
    const email = oneLineConfirmation('Cent', 3, { amount: '0.10', currency: 'EUR' }, '0.30');
    expect(email.text).toContain('3 x Cent (S) at 0.10 EUR: 0.30 EUR');
  });

  it('shows amounts with the currency’s own minor digits', () => {
    const email = oneLineConfirmation('Tea', 2, { amount: '500', currency: 'JPY' }, '1000');
    expect(email.text).toContain('2 x Tea (S) at 500 JPY: 1000 JPY');
    expect(email.subject).toContain('1000 JPY');
  });

  it('greets without a name when the recipient is unknown', () => {
    expect(renderEmail('shipping_notice', order).text.startsWith('Hello,\n')).toBe(true);
    expect(renderEmail('shipping_notice', order, { recipientName: '  ' }).text.startsWith('Hello,\n')).toBe(true);
  });

  it('shipping notice names the order and its lines', () => {
    const email = renderEmail('shipping_notice', { ...order, status: 'shipped' }, { recipientName: 'Ann' });
    expect(email.subject).toBe('Order 0000BEEF has shipped');
    expect(email.text).toContain('on its way');
    expect(email.text).toContain('Total: 27.49 EUR');
  });

  it('cancellation notice gives the reason', () => {
    const email = renderEmail('cancellation_notice', { ...order, status: 'cancelled', reason: 'Out of <stock> & sorry' });
    expect(email.subject).toBe('Order 0000BEEF was cancelled');
    expect(email.text).toContain('Reason: Out of <stock> & sorry');
    expect(email.html).toContain('Out of &lt;stock&gt; &amp; sorry');
  });

  it('escapes user data in HTML everywhere it appears', () => {
    const html = renderEmail('welcome', {
      userId: 'u1',
      email: 'a@example.com',
      name: '<script>alert("x")</script>',
    }).html;
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    const orderHtml = renderEmail('order_confirmation', order, { recipientName: '<b>Ann</b>' }).html;
    expect(orderHtml).toContain('Gadget &lt;Pro&gt; &amp; &quot;friends&quot;');
    expect(orderHtml).toContain('Hello &lt;b&gt;Ann&lt;/b&gt;,');
    expect(orderHtml).not.toContain('<Pro>');
  });

  it('keeps user data on one line in the subject, so it cannot add headers', () => {
    const email = renderEmail('welcome', { userId: 'u1', email: 'a@example.com', name: 'Ann\r\nBcc: evil@example.com' });
    expect(email.subject).toBe('Welcome to conveyor, Ann Bcc: evil@example.com');
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it('refuses a payload that does not fit the template, naming the fields', () => {
    expect(() => renderEmail('welcome', { userId: 'u1' })).toThrow(EmailRenderError);
    expect(() => renderEmail('welcome', { userId: 'u1' })).toThrow(/email, name/);
    expect(() => renderEmail('cancellation_notice', order)).toThrow(/reason/);
    expect(() => renderEmail('order_confirmation', null)).toThrow(EmailRenderError);
  });

  it('refuses malformed money as a payload error rather than printing it', () => {
    const bad = { ...order, total: { amount: '27.499', currency: 'EUR' } };
    expect(() => renderEmail('order_confirmation', bad)).toThrow(EmailRenderError);
    const float = { ...order, total: { amount: 'NaN', currency: 'EUR' } };
    expect(() => renderEmail('order_confirmation', float)).toThrow(EmailRenderError);
  });

  it('uses the brand from the context', () => {
    const email = renderEmail('welcome', { userId: 'u1', email: 'a@example.com', name: 'Ann' }, { brand: 'Shop & Co' });
    expect(email.subject).toBe('Welcome to Shop & Co, Ann');
    expect(email.html).toContain('Shop &amp; Co');
  });
});

describe('helpers', () => {
  it('escapeHtml escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('orderReference takes the random tail of the id', () => {
    expect(orderReference(orderId)).toBe('0000BEEF');
  });
});
