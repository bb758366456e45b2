import { Money, Product } from '../../../domain/index.js';
import { CommerceUseCase } from './use-case.js';

export interface AddProductInput {
  commandId: string;
  productId: string;
  sku: string;
  name: string;
  price: { amount: string; currency: string };
  stock: number;
}

export interface AddProductOutput {
  productId: string;
}

/**
 * Adds a product to the catalogue.
 * - the sku is unique (`sku_taken`);
 * - the price is an exact amount in a known currency; stock starts at 0 or more;
 * - records `product.added`.
 */
export class AddProduct extends CommerceUseCase {
  execute(input: AddProductInput): Promise<AddProductOutput> {
    return this.uow.run({ commandId: input.commandId, commandType: 'AddProduct' }, async ({ products }) => {
      products.add(
        Product.add({
          id: input.productId,
          sku: input.sku,
          name: input.name,
          price: Money.parse(input.price.amount, input.price.currency),
          stock: input.stock,
          now: this.clock.now(),
        }),
      );
      return { productId: input.productId };
    });
  }
}
