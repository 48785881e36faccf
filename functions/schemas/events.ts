import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The event model: one JSON Schema per event type and one for transactions, built with TypeBox so
 * the TypeScript types below are derived from the very schemas ajv compiles (one source).
 * `npm run schemas` writes them as plain JSON Schema files to functions/schemas/json/v1/.
 *
 * Descriptive fields (`device_type`, `payment_method`) take any short text: the known values are
 * listed as `examples`, and validate.ts counts another value as a warning instead of refusing the
 * event (docs/data-quality.md, "Schema evolution").
 */

/** The version of these schemas: the `.v1` of the CloudEvent types, the folder of the published files. */
export const SCHEMA_VERSION = 'v1';
export const SCHEMA_BASE = `https://speed-layer.dev/schemas/${SCHEMA_VERSION}/`;

export const EVENT_TYPES = [
  'page_view', 'product_view', 'search', 'add_to_cart', 'purchase',
  'remove_from_cart', 'checkout_start', 'login', 'logout',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const TIERS = ['Bronze', 'Silver', 'Gold', 'Platinum'] as const;
export type Tier = (typeof TIERS)[number] | 'unknown';

/** The five steps of the conversion funnel, in order. */
export const FUNNEL_STEPS = ['page_view', 'product_view', 'add_to_cart', 'checkout_start', 'purchase'] as const;

// Only the 8-4-4-4-12 hex form: ajv-formats' `uuid` also takes `urn:uuid:…`, which ClickHouse cannot
// parse, and one such row made every insert of its batch fail.
const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });
// Text holds no control characters (C0, DEL, C1) and no lone surrogates (they cannot be stored as
// UTF-8): none belongs in a URL, product id, category or search query.
const TEXT = '^[^\\u0000-\\u001f\\u007f-\\u009f\\ud800-\\udfff]*$';
// Any RFC 3339 date-time (core/timestamp.ts reads it; validate.ts stores it as UTC milliseconds).
const Timestamp = Type.String({ format: 'date-time', maxLength: 64 });
// Money is a decimal string so no float ever touches it; it fits ClickHouse Decimal(18,2).
const Money = Type.String({ pattern: '^\\d{1,13}(\\.\\d{1,2})?$' });
const Quantity = Type.Integer({ minimum: 1, maximum: 1000 });
const ShortText = Type.String({ minLength: 1, maxLength: 512, pattern: TEXT });

export const DEVICE_TYPES = ['desktop', 'mobile', 'tablet'] as const;
export const PAYMENT_METHODS = ['credit_card', 'debit_card', 'paypal', 'apple_pay', 'bank_transfer'] as const;

/** A descriptive field: short text, its known values as `examples` (others are stored with a warning). */
function descriptive(known: readonly string[]) {
  return Type.String({ minLength: 1, maxLength: 64, pattern: TEXT, examples: [...known], description: `known values: ${known.join(', ')}; another value is stored as sent and counted as a warning` });
}

const common = {
  event_id: Uuid,
  user_id: Uuid,
  timestamp: Timestamp,
  page_url: Type.Optional(ShortText),
  device_type: Type.Optional(descriptive(DEVICE_TYPES)),
  referrer: Type.Optional(ShortText),
};

function eventSchema<T extends EventType, P extends Record<string, TSchema>>(type: T, props: P) {
  return Type.Object(
    { ...common, event_type: Type.Literal(type), ...props },
    { $id: `${SCHEMA_BASE}${type}.json`, title: type, additionalProperties: false },
  );
}

export const PageView = eventSchema('page_view', { page_url: ShortText });
export const ProductView = eventSchema('product_view', { product_id: ShortText, category: ShortText, price: Type.Optional(Money) });
export const Search = eventSchema('search', { search_query: Type.String({ minLength: 1, maxLength: 256, pattern: TEXT }) });
export const AddToCart = eventSchema('add_to_cart', { product_id: ShortText, category: Type.Optional(ShortText), price: Money, quantity: Quantity });
export const Purchase = eventSchema('purchase', { order_id: Uuid, product_id: ShortText, category: Type.Optional(ShortText), price: Money, quantity: Quantity });
export const RemoveFromCart = eventSchema('remove_from_cart', { product_id: ShortText, quantity: Quantity });
export const CheckoutStart = eventSchema('checkout_start', {});
export const Login = eventSchema('login', {});
export const Logout = eventSchema('logout', {});

export const EVENT_SCHEMAS = {
  page_view: PageView,
  product_view: ProductView,
  search: Search,
  add_to_cart: AddToCart,
  purchase: Purchase,
  remove_from_cart: RemoveFromCart,
  checkout_start: CheckoutStart,
  login: Login,
  logout: Logout,
} as const satisfies Record<EventType, TSchema>;

export type UserEvent = { [K in EventType]: Static<(typeof EVENT_SCHEMAS)[K]> }[EventType];
export type UserEventOf<K extends EventType> = Static<(typeof EVENT_SCHEMAS)[K]>;

export const Transaction = Type.Object(
  {
    transaction_id: Uuid,
    order_id: Uuid,
    user_id: Uuid,
    timestamp: Timestamp,
    items: Type.Array(
      Type.Object({ product_id: ShortText, quantity: Quantity, unit_price: Money }, { additionalProperties: false }),
      { minItems: 1, maxItems: 100 },
    ),
    subtotal: Money,
    discount: Money,
    tax: Money,
    total_amount: Money,
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    payment_method: descriptive(PAYMENT_METHODS),
    status: Type.Union([Type.Literal('completed'), Type.Literal('pending'), Type.Literal('failed'), Type.Literal('refunded')]),
  },
  { $id: `${SCHEMA_BASE}transaction.json`, title: 'transaction', additionalProperties: false },
);
export type Transaction = Static<typeof Transaction>;


/** The descriptive fields of each record kind and their known values (validate.ts warns on others). */
export const DESCRIPTIVE_FIELDS = {
  event: { device_type: DEVICE_TYPES },
  transaction: { payment_method: PAYMENT_METHODS },
} as const satisfies Record<'event' | 'transaction', Record<string, readonly string[]>>;
