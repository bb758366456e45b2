import { NotFoundError, Quantity } from '../../../domain/index.js';
import { CommerceUseCase } from './use-case.js';

export interface RestockProductInput {
  commandId: string;
  productId: string;
  quantity: number;
}

export interface RestockProductOutput {
  productId: string;
  stock: number;
}

/**
 * Adds units to a product's stock.
 * - the product must exist (`product_not_found`); the quantity is positive;
 * - records `product.restocked`.
 */
export class RestockProduct extends CommerceUseCase {
  execute(input: RestockProductInput): Promise<RestockProductOutput> {
    const command = { commandId: input.commandId, commandType: 'RestockProduct', locks: { products: [input.productId] } };
    return this.uow.run(command, async ({ products }) => {
      const quantity = Quantity.of(input.quantity);
      const product = (await products.findManyForUpdate([input.productId])).get(input.productId);
      if (!product) throw new NotFoundError('product', input.productId);
      product.restock(quantity, this.clock.now());
      return { productId: product.id, stock: product.stock };
    });
  }
}
