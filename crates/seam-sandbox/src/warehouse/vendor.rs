//! Every ACS-specific name the simulator speaks, in one place, so a real
//! specification can replace them: stock status names, the stock file's
//! columns, order status names, order body field names, header names and
//! page sizes. Message field names live on the types in `messages.rs`.
//!
//! Provenance (see `shared/apis/backends.md` §2): the order body field names
//! are seen in client code [S]; the stock statuses mix names ACS uses
//! ("In warehouse processing", "Ex-Hire") with names an integrator cites as
//! examples ("In-Refurbishment", "Post-Rental Inspection") [S]; everything
//! else here is inferred [I].

/// Stock statuses the simulated warehouse uses itself. The admin may put
/// units in any other status string too; consumers must cope with unknown
/// statuses (Seam counts them as not sellable).
pub mod status {
    /// In warehouse, ready for a customer: the only sellable status.
    pub const AVAILABLE: &str = "Available";
    /// Returned and not yet graded (inferred name; ACS shows "Receipted – No Location").
    pub const PENDING_INSPECTION: &str = "Pending Inspection";
    pub const IN_REFURBISHMENT: &str = "In-Refurbishment";
    pub const POST_RENTAL_INSPECTION: &str = "Post-Rental Inspection";
    pub const IN_WAREHOUSE_PROCESSING: &str = "In warehouse processing";
    pub const QUARANTINE: &str = "Quarantine";
    pub const DAMAGED: &str = "Damaged";
    /// Beyond repair but kept (ACS: "items beyond repair become ex-hire").
    pub const EX_HIRE: &str = "Ex-Hire";

    /// Pseudo-statuses outside the warehouse. They appear only as the
    /// `FromStatus`/`ToStatus` of a movement, never in stock or the stock
    /// file, so every change of stock is a movement between two statuses
    /// (inferred design).
    /// Units that left with a customer (dispatch) or come back from one (return).
    pub const DISPATCHED: &str = "Dispatched";
    /// Units written off (grade BER or disposition WRITE_OFF).
    pub const WRITTEN_OFF: &str = "Written Off";
    /// Units added or removed by a stock count / adjustment.
    pub const STOCK_ADJUSTMENT: &str = "Stock Adjustment";

    /// Whether a status is outside the warehouse (not held as stock).
    pub fn is_external(status: &str) -> bool {
        status == DISPATCHED || status == WRITTEN_OFF || status == STOCK_ADJUSTMENT
    }
}

/// Columns of the stock snapshot CSV, one row per physical unit (RFID).
/// Layout designed after the daily per-RFID CSV ACS sends (backends.md §2.3/§2.4) [I].
pub const SNAPSHOT_COLUMNS: [&str; 6] = [
    "account_code",
    "sku",
    "unique_sku",
    "rfid",
    "location_status",
    "status_date",
];

/// Stock file names: `stock_YYYYMMDD_<n>.csv` (backends.md §2.4 gives
/// `stock_YYYYMMDD.csv`; the counter keeps names unique within a day) [I].
pub const SNAPSHOT_FILE_PREFIX: &str = "stock_";

/// Order statuses reported by `GET /orders/{OrderNumber}` [I].
pub mod order_status {
    pub const RECEIVED: &str = "Received";
    pub const AWAITING_STOCK: &str = "Awaiting Stock";
    pub const PART_DISPATCHED: &str = "Part Dispatched";
    pub const DISPATCHED: &str = "Dispatched";
    pub const CANCELLED: &str = "Cancelled";
}

/// Order body field names (backends.md §2.2) [S]; `ItemCondition` and
/// `Grade` are inferred for refurbished goods [I].
pub mod field {
    pub const ACCOUNT_CODE: &str = "AccountCode";
    pub const ORDER_NUMBER: &str = "OrderNumber";
    pub const ORDER_DATE: &str = "OrderDate";
    pub const DISPATCH_DATE: &str = "DispatchDate";
    pub const DELIVERY_DATE: &str = "DeliveryDate";
    pub const EVENT_DATE: &str = "EventDate";
    pub const WAREHOUSE_RETURN_DATE: &str = "WarehouseReturnDate";
    pub const FIRST_NAME: &str = "FirstName";
    pub const LAST_NAME: &str = "LastName";
    pub const MOBILE_PHONE: &str = "MobilePhone";
    pub const EMAIL: &str = "Email";
    pub const ADDRESS1: &str = "Delivery_Address1";
    pub const ADDRESS2: &str = "Delivery_Address2";
    pub const ADDRESS3: &str = "Delivery_Address3";
    pub const ADDRESS4: &str = "Delivery_Address4";
    pub const CITY: &str = "Delivery_City";
    pub const COUNTY: &str = "Delivery_County";
    pub const POSTCODE: &str = "Delivery_Postcode";
    pub const DELIVERY_SERVICE: &str = "DeliveryService";
    pub const DELIVERY_AGENT: &str = "DeliveryAgent";
    pub const DELIVERY_CHARGE: &str = "DeliveryCharge";
    pub const COMMENTS: &str = "Comments";
    pub const ORDER_CANCELLED: &str = "OrderCancelled";
    pub const ORDER_ITEMS: &str = "OrderItems";
    pub const LINE_ITEM_ID: &str = "LineItemId";
    /// Both casings appear in client code; the simulator accepts either.
    pub const GARMENT_SKU: &str = "GarmentSku";
    pub const GARMENT_SKU_ALT: &str = "GarmentSKU";
    pub const IS_HIRE: &str = "IsHire";
    pub const ITEM_PRICE: &str = "ItemPrice";
    pub const ITEM_QUANTITY: &str = "ItemQuantity";
    pub const ITEM_CONDITION: &str = "ItemCondition";
    pub const GRADE: &str = "Grade";
}

/// Grades a refurbished item may be sold at (inferred: the return grades minus BER).
pub const SELLABLE_ITEM_GRADES: [&str; 3] = ["A", "B", "C"];

/// Webhook signature header: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` [I].
pub const SIGNATURE_HEADER: &str = "X-ACS-Signature";
/// Sent with the stock snapshot: the feed cursor the snapshot is consistent with [I].
pub const FEED_CURSOR_HEADER: &str = "X-ACS-Feed-Cursor";
/// Realm in the 401 challenge.
pub const AUTH_REALM: &str = "ACS Partner API";

/// Largest page of the polled message feed.
pub const MAX_FEED_PAGE: usize = 5_000;
/// Default page of the polled message feed.
pub const DEFAULT_FEED_PAGE: usize = 500;
/// Most messages in one webhook POST.
pub const MAX_WEBHOOK_BATCH: usize = 500;
