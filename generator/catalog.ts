import type { Random } from './random.js';

export type Product = { product_id: string; category: string; priceCents: number };

const CATEGORIES = ['electronics', 'books', 'fashion', 'home', 'sports', 'beauty', 'toys', 'grocery'] as const;
const PAGES = ['/', '/deals', '/new', '/help', '/account', '/cart', '/blog'] as const;
const QUERIES = ['laptop', 'running shoes', 'coffee', 'headphones', 'lego', 'novel', 'lamp', 'yoga mat', 'phone case', 'gift'] as const;

export function createCatalog(rnd: Random, size = 200) {
  const products: Product[] = Array.from({ length: size }, (_, i) => ({
    product_id: `P${String(i + 1).padStart(5, '0')}`,
    category: rnd.pick(CATEGORIES),
    priceCents: rnd.int(199, 49_999),
  }));
  // Popularity is skewed (Zipf-like), as in a real shop: a few products get most views.
  const weights = products.map((_, i) => 1 / (i + 1) ** 0.8);
  const total = weights.reduce((a, b) => a + b, 0);
  const pickProduct = () => {
    let x = rnd.next() * total;
    for (let i = 0; i < products.length; i++) if ((x -= weights[i]!) < 0) return products[i]!;
    return products[products.length - 1]!;
  };
  return { products, pickProduct, pickPage: () => rnd.pick(PAGES), pickQuery: () => rnd.pick(QUERIES) };
}
export type Catalog = ReturnType<typeof createCatalog>;
