//! Every GraphQL document the Centra connector sends, in one place, so a
//! schema change is one diff. Field names follow Centra's Integration API
//! (centra.md §2–§7); where a field is only known from the simulator it is
//! marked "inferred" next to the fragment that selects it.

/// `MonetaryValue`: `value` is a Float in Centra's schema; the connector
/// turns it into an exact decimal through its shortest text form.
const MONEY: &str = "fragment Money on MonetaryValue { value currency { code } }";

const ADDRESS: &str =
    "fragment Addr on Address { firstName lastName companyName address1 address2 \
city zipCode stateOrProvince country { code name } email phoneNumber }";

/// Order lines of every kind. `bundleLineId` on BundleItemOrderLine is
/// inferred (the simulator's link from an item to its bundle line).
const LINE: &str = "fragment LineFields on OrderLine { __typename id productNumber size productName \
productVariantName comment quantity cancelledQuantity returnedQuantity hasAnyDiscount \
unitOriginalPrice { ...Money } unitPrice { ...Money } discountPercent taxPercent lineValue { ...Money } \
productVariant { id variantNumber } productSize { id SKU EAN sizeNumber } \
... on BundleItemOrderLine { bundleLineId } }";

const SHIPMENT: &str = "fragment ShipmentFields on Shipment { id number externalId createdAt updatedAt \
isGoodToGo isShipped isPaid isCaptured paidAt capturedAt capturedValue { ...Money } shippedAt \
trackingNumber returnTrackingNumber numberOfPackages carrierInformation { carrierName serviceName } \
grandTotal { ...Money } lines { id quantity returnedQuantity orderLine { id } } }";

const RETURN: &str =
    "fragment ReturnFields on Return { id returnStatus externalId createdAt totalQuantity \
returnedToStock comment lines { id quantity shipmentLine { id } orderLine { id } } }";

const ORDER: &str = "fragment OrderFields on Order { __typename id number status isOnHold isLocked \
createdAt updatedAt orderDate externalId internalComment grandTotal { ...Money } \
totals { quantity originalQuantity cancelledQuantity unexpeditedQuantity lineValues { ...Money } \
shipping { ...Money } handling { ...Money } discounts { ...Money } taxIncluded { ...Money } \
taxAdded { ...Money } taxDeducted { ...Money } grandTotal { ...Money } } \
discountsApplied { value { ...Money } date ... on AppliedDiscount { discount { name code type } } } \
shippingPriceGroup { shippingOption { id name uri } } \
shippingAddress { ...Addr } billingAddress { ...Addr } paymentMethod { uri plugin name } \
paymentHistory { id createdAt entryType status externalReference value { ...Money } paymentMethod } \
lines(includeFullyCancelled: true) { ...LineFields } shipments { ...ShipmentFields } \
... on DirectToConsumerOrder { customer { id email } } }";

/// Joins a document with the fragments it uses (const-concat is not stable).
pub(crate) fn with_fragments(body: &str, fragments: &[&str]) -> String {
    let mut text = String::with_capacity(body.len() + 2048);
    text.push_str(body);
    for fragment in fragments {
        text.push('\n');
        text.push_str(fragment);
    }
    text
}

/// Fragments an `Order` selection needs.
pub(crate) const ORDER_FRAGMENTS: &[&str] = &[ORDER, LINE, SHIPMENT, ADDRESS, MONEY];
pub(crate) const SHIPMENT_FRAGMENTS: &[&str] = &[SHIPMENT, MONEY];
pub(crate) const RETURN_FRAGMENTS: &[&str] = &[RETURN];

pub(crate) const ORDER_BY_ID: &str =
    "query OrderById($id: String!) { order(id: $id) { ...OrderFields } }";
pub(crate) const ORDER_BY_NUMBER: &str =
    "query OrderByNumber($number: Int!) { order(number: $number) { ...OrderFields } }";
pub(crate) const ORDERS_BY_NUMBERS: &str =
    "query OrdersByNumbers($numbers: [Int!], $limit: Int) { \
orders(where: {number: $numbers}, limit: $limit) { ...OrderFields } }";

/// The safety-net poll: oldest change first, relay-paged.
pub(crate) const ORDERS_UPDATED_SINCE: &str = "query OrdersUpdatedSince($from: String!, $first: Int!, $after: String) { \
orderConnection(where: { updatedAt: { from: $from } }, sort: [updatedAt_ASC], first: $first, after: $after) { \
totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ...OrderFields } } } }";

/// Status, line cancel state and shipments of an order, with their external
/// ids: the read-back that makes confirm, line edits and createShipment replays safe.
pub(crate) const ORDER_SHIPMENTS: &str = "query OrderShipments($id: String, $number: Int, $externalId: String) { \
order(id: $id, number: $number, externalId: $externalId) { id number status lines(includeFullyCancelled: true) { id comment cancelledQuantity } \
shipments { ...ShipmentFields } } }";

pub(crate) const SHIPMENT_BY_ID: &str =
    "query ShipmentById($id: Int!) { shipment(id: $id) { ...ShipmentFields } }";

pub(crate) const SHIPMENT_RETURNS: &str =
    "query ShipmentReturns($id: Int!) { shipment(id: $id) { id \
order { returns { ...ReturnFields shipment { id } } } } }";

pub(crate) const RETURN_BY_ID: &str =
    "query ReturnById($id: Int!) { returns(where: { id: [$id] }, limit: 1) { ...ReturnFields } }";

pub(crate) const ORDER_BY_EXTERNAL_ID: &str =
    "query OrderByExternalId($externalId: String!) { order(externalId: $externalId) { ...OrderFields } }";

/// Inferred mutation: Centra documents none that creates an order.
pub(crate) const CREATE_ORDER: &str = "mutation CreateOrder($input: DirectToConsumerOrderCreateInput!) { \
createDirectToConsumerOrder(input: $input) { order { ...OrderFields } userErrors { message path } userWarnings { message path } } }";

const PAYMENT_ENTRY: &str =
    "fragment PaymentEntry on PaymentHistoryEntry { id createdAt entryType status \
externalReference value { ...Money } paymentMethod }";
pub(crate) const REFUND_FRAGMENTS: &[&str] = &[PAYMENT_ENTRY, MONEY];

/// A return's refunds (`refundPaymentHistory`, in Centra's Return type).
pub(crate) const RETURN_REFUNDS: &str = "query ReturnRefunds($id: Int!) { \
returns(where: { id: [$id] }, limit: 1) { id refundPaymentHistory { ...PaymentEntry } } }";

/// Inferred mutation name and input; its payload `ReturnRefundPayload` is in
/// Centra's schema.
pub(crate) const REFUND_RETURN: &str = "mutation RefundReturn($id: Int!, $input: ReturnRefundInput!) { \
refundReturn(id: $id, input: $input) { paymentHistoryEntry { ...PaymentEntry } userErrors { message path } userWarnings { message path } } }";

/// Free to allocate of one SKU in every warehouse (only the field Centra
/// does not charge complexity for; the `SKU` filter key is inferred).
pub(crate) const FREE_TO_ALLOCATE_EVERYWHERE: &str = "query FreeToAllocateEverywhere($sku: String!) { \
warehouses { id stock(where: { SKU: [$sku] }, limit: 1, page: 1) { productSize { id SKU } freeToAllocateQuantity } } }";

pub(crate) const CONFIRM_ORDER: &str = "mutation ConfirmOrder($input: ConfirmOrderInput!) { \
confirmOrder(input: $input) { order { ...OrderFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const UPDATE_ORDER: &str = "mutation UpdateOrder($order: OrderInput!, $input: DirectToConsumerOrderUpdateInput!) { \
updateDirectToConsumerOrder(order: $order, input: $input) { order { ...OrderFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const CREATE_SHIPMENT: &str = "mutation CreateShipment($input: ShipmentCreateInput!) { \
createShipment(input: $input) { shipment { ...ShipmentFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const COMPLETE_SHIPMENT: &str = "mutation CompleteShipment($id: Int!, $input: ShipmentCompleteInput!) { \
completeShipment(id: $id, input: $input) { shipment { ...ShipmentFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const CAPTURE_SHIPMENT: &str = "mutation CaptureShipment($id: Int!) { \
captureShipment(id: $id) { shipment { ...ShipmentFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const CREATE_RETURN: &str = "mutation CreateReturn($input: ReturnCreateInput!) { \
createReturn(input: $input) { return { ...ReturnFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const COMPLETE_RETURN: &str = "mutation CompleteReturn($id: Int!, $input: ReturnCompleteInput) { \
completeReturn(id: $id, input: $input) { return { ...ReturnFields } userErrors { message path } userWarnings { message path } } }";

const STOCK_CHANGE: &str = "fragment StockChangeFields on StockChange { id description createdAt \
lines { productSize { id SKU } deliveredQuantity freeToAllocateQuantity } }";
pub(crate) const STOCK_FRAGMENTS: &[&str] = &[STOCK_CHANGE];

pub(crate) const SET_STOCK: &str = "mutation SetStock($input: StockSetInput!) { \
setStock(input: $input) { stockChanges { ...StockChangeFields } userErrors { message path } userWarnings { message path } } }";

pub(crate) const CHANGE_STOCK: &str = "mutation ChangeStock($input: StockChangeInput!) { \
changeStock(input: $input) { stockChange { ...StockChangeFields } userErrors { message path } userWarnings { message path } } }";

/// Only `freeToAllocateQuantity`: the one stock field Centra does not charge
/// complexity for (centra.md §5). The `SKU` filter key is inferred (the
/// StockFilter SDL was not available; the simulator accepts it).
pub(crate) const FREE_TO_ALLOCATE: &str = "query FreeToAllocate($warehouse: Int!, $where: StockFilter, $limit: Int!, $page: Int!) { \
warehouse(id: $warehouse) { stock(where: $where, limit: $limit, page: $page) { productSize { id SKU } freeToAllocateQuantity } } }";

pub(crate) const WAREHOUSES: &str = "query Warehouses { warehouses { id name } }";

const PRODUCT: &str =
    "fragment ProductFields on Product { id name productNumber brandName isBundle \
attributes { type { name } elements { key value } } \
variants { id name variantNumber attributes { type { name } elements { key value } } \
productSizes { id SKU EAN sizeNumber description } } \
bundle { id type sections { id quantity productVariants { id variantNumber name } } } }";
pub(crate) const PRODUCT_FRAGMENTS: &[&str] = &[PRODUCT];

pub(crate) const PRODUCTS: &str =
    "query Products($where: ProductFilter, $limit: Int!, $page: Int!) { \
products(where: $where, limit: $limit, page: $page) { ...ProductFields } }";

pub(crate) const SET_EVENT_LISTENERS: &str = "mutation SetEventListeners($input: [EventListenerInput!]!) { \
setEventListeners(input: $input) { eventListeners { objectType changeTypes createdAt updatedAt } userErrors { message path } userWarnings { message path } } }";

/// `objectReference` only: the order number for orders, the id otherwise;
/// the object itself is fetched by the handler when it needs the current state.
pub(crate) const EVENTS: &str = "query Events($where: EventFilter, $limit: Int!) { \
events(where: $where, limit: $limit) { id objectType changeType objectReference createdAt } }";

pub(crate) const CONFIRM_EVENTS: &str = "mutation ConfirmEvents($input: ConfirmEventsInput!) { \
confirmEvents(input: $input) { userErrors { message path } userWarnings { message path } } }";

pub(crate) const RATE_LIMITS: &str =
    "query RateLimits { rateLimits { type intervalSeconds quota usedQuota remainingQuota } }";
