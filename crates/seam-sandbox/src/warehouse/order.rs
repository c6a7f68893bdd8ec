//! Reading and validating the partner API's order body (`PUT /orders/{n}`).
//!
//! The body is read field by field from JSON rather than through a derived
//! deserializer, so every problem is reported against its path
//! (`OrderItems[1].Grade`) and all of them at once, as a warehouse API that
//! rejects orders for humans to fix would. Unknown fields (`Misc1`,
//! `Measurement1`, …) are kept verbatim so a re-PUT can be compared exactly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Map, Value};

use super::errors::{code, FieldError};
use super::vendor::{field, SELLABLE_ITEM_GRADES};
use super::CatalogueItem;

/// A validated order as the partner sent it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRequest {
    pub account_code: String,
    pub order_number: String,
    pub order_date: NaiveDate,
    pub dispatch_date: Option<NaiveDate>,
    pub delivery_date: Option<NaiveDate>,
    pub event_date: Option<NaiveDate>,
    pub warehouse_return_date: Option<NaiveDate>,
    pub first_name: String,
    pub last_name: String,
    pub mobile_phone: Option<String>,
    pub email: Option<String>,
    pub address: DeliveryAddress,
    pub delivery_service: String,
    pub delivery_agent: String,
    pub delivery_charge: Option<Decimal>,
    pub comments: Option<String>,
    pub cancelled: bool,
    pub items: Vec<OrderItem>,
    /// Fields the simulator does not interpret, kept for exact comparison.
    pub other_fields: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryAddress {
    pub line1: String,
    pub line2: Option<String>,
    pub line3: Option<String>,
    pub line4: Option<String>,
    pub city: String,
    pub county: Option<String>,
    pub postcode: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderItem {
    pub line_item_id: String,
    pub sku: String,
    pub is_hire: bool,
    pub price: Decimal,
    pub quantity: u64,
    /// Required for refurbished catalogue items (inferred field).
    pub item_condition: Option<String>,
    /// Required for refurbished catalogue items (inferred field).
    pub grade: Option<String>,
    pub other_fields: BTreeMap<String, Value>,
}

const ORDER_FIELDS: &[&str] = &[
    field::ACCOUNT_CODE,
    field::ORDER_NUMBER,
    field::ORDER_DATE,
    field::DISPATCH_DATE,
    field::DELIVERY_DATE,
    field::EVENT_DATE,
    field::WAREHOUSE_RETURN_DATE,
    field::FIRST_NAME,
    field::LAST_NAME,
    field::MOBILE_PHONE,
    field::EMAIL,
    field::ADDRESS1,
    field::ADDRESS2,
    field::ADDRESS3,
    field::ADDRESS4,
    field::CITY,
    field::COUNTY,
    field::POSTCODE,
    field::DELIVERY_SERVICE,
    field::DELIVERY_AGENT,
    field::DELIVERY_CHARGE,
    field::COMMENTS,
    field::ORDER_CANCELLED,
    field::ORDER_ITEMS,
];

const ITEM_FIELDS: &[&str] = &[
    field::LINE_ITEM_ID,
    field::GARMENT_SKU,
    field::GARMENT_SKU_ALT,
    field::IS_HIRE,
    field::ITEM_PRICE,
    field::ITEM_QUANTITY,
    field::ITEM_CONDITION,
    field::GRADE,
];

/// Reads one JSON object, collecting errors against `prefix.Field` paths.
struct Reader<'a> {
    object: &'a Map<String, Value>,
    prefix: String,
    errors: &'a mut Vec<FieldError>,
}

impl Reader<'_> {
    fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// A text field; numbers are accepted as their text (phone numbers,
    /// line ids), empty strings and null count as absent.
    fn optional_text(&mut self, name: &str) -> Option<String> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.trim().is_empty() => None,
            Some(Value::String(text)) => Some(text.trim().to_string()),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => {
                let path = self.path(name);
                self.errors.push(FieldError::new(
                    code::INVALID,
                    path,
                    format!("{name} must be text."),
                ));
                None
            }
        }
    }

    fn required_text(&mut self, name: &str) -> String {
        match self.optional_text(name) {
            Some(text) => text,
            None => {
                if !matches!(
                    self.object.get(name),
                    Some(Value::Array(_) | Value::Object(_) | Value::Bool(_))
                ) {
                    let path = self.path(name);
                    self.errors.push(FieldError::new(
                        code::REQUIRED,
                        path,
                        format!("{name} is required."),
                    ));
                }
                String::new()
            }
        }
    }

    fn optional_date(&mut self, name: &str) -> Option<NaiveDate> {
        let text = self.optional_text(name)?;
        match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                let path = self.path(name);
                self.errors.push(FieldError::new(
                    code::INVALID,
                    path,
                    format!("{name} must be a date as YYYY-MM-DD, got '{text}'."),
                ));
                None
            }
        }
    }

    fn required_date(&mut self, name: &str) -> Option<NaiveDate> {
        if self.optional_text(name).is_none() {
            let path = self.path(name);
            self.errors.push(FieldError::new(
                code::REQUIRED,
                path,
                format!("{name} is required."),
            ));
            return None;
        }
        self.optional_date(name)
    }

    fn optional_decimal(&mut self, name: &str) -> Option<Decimal> {
        let parsed = match self.object.get(name) {
            None | Some(Value::Null) => return None,
            Some(Value::Number(number)) => Decimal::from_str(&number.to_string())
                .or_else(|_| Decimal::from_scientific(&number.to_string())),
            Some(Value::String(text)) if text.trim().is_empty() => return None,
            Some(Value::String(text)) => Decimal::from_str(text.trim()),
            Some(_) => Decimal::from_str("not a number"),
        };
        match parsed {
            Ok(value) if value >= Decimal::ZERO => Some(value),
            _ => {
                let path = self.path(name);
                self.errors.push(FieldError::new(
                    code::INVALID,
                    path,
                    format!("{name} must be a non-negative amount."),
                ));
                None
            }
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        match self.object.get(name) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(Value::String(text)) if text.eq_ignore_ascii_case("true") => true,
            Some(Value::String(text)) if text.eq_ignore_ascii_case("false") => false,
            Some(_) => {
                let path = self.path(name);
                self.errors.push(FieldError::new(
                    code::INVALID,
                    path,
                    format!("{name} must be true or false."),
                ));
                false
            }
        }
    }

    fn quantity(&mut self, name: &str) -> u64 {
        let value = match self.object.get(name) {
            Some(Value::Number(number)) => number.as_u64(),
            Some(Value::String(text)) => text.trim().parse::<u64>().ok(),
            _ => None,
        };
        match value {
            Some(quantity) if quantity > 0 => quantity,
            _ => {
                let path = self.path(name);
                self.errors.push(FieldError::new(
                    code::INVALID,
                    path,
                    format!("{name} must be a whole number of at least 1."),
                ));
                0
            }
        }
    }

    fn others(&self, known: &[&str]) -> BTreeMap<String, Value> {
        self.object
            .iter()
            .filter(|(key, _)| !known.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// Reads the body's shape: required fields, types, dates, quantities.
/// Reference checks (catalogue, service codes) are `check_references`.
pub fn parse_order(body: &Value) -> Result<OrderRequest, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::general(
            code::INVALID,
            "The order body must be a JSON object.",
        )]);
    };
    let mut errors = Vec::new();
    let mut reader = Reader {
        object,
        prefix: String::new(),
        errors: &mut errors,
    };
    let account_code = reader.required_text(field::ACCOUNT_CODE);
    let order_number = reader.required_text(field::ORDER_NUMBER);
    let order_date = reader.required_date(field::ORDER_DATE);
    let dispatch_date = reader.optional_date(field::DISPATCH_DATE);
    let delivery_date = reader.optional_date(field::DELIVERY_DATE);
    let event_date = reader.optional_date(field::EVENT_DATE);
    let warehouse_return_date = reader.optional_date(field::WAREHOUSE_RETURN_DATE);
    let first_name = reader.required_text(field::FIRST_NAME);
    let last_name = reader.required_text(field::LAST_NAME);
    let mobile_phone = reader.optional_text(field::MOBILE_PHONE);
    let email = reader.optional_text(field::EMAIL);
    let address = DeliveryAddress {
        line1: reader.required_text(field::ADDRESS1),
        line2: reader.optional_text(field::ADDRESS2),
        line3: reader.optional_text(field::ADDRESS3),
        line4: reader.optional_text(field::ADDRESS4),
        city: reader.required_text(field::CITY),
        county: reader.optional_text(field::COUNTY),
        postcode: reader.required_text(field::POSTCODE),
    };
    let delivery_service = reader.required_text(field::DELIVERY_SERVICE);
    let delivery_agent = reader.required_text(field::DELIVERY_AGENT);
    let delivery_charge = reader.optional_decimal(field::DELIVERY_CHARGE);
    let comments = reader.optional_text(field::COMMENTS);
    let cancelled = reader.flag(field::ORDER_CANCELLED);
    let other_fields = reader.others(ORDER_FIELDS);

    let mut items = Vec::new();
    match object.get(field::ORDER_ITEMS) {
        Some(Value::Array(values)) if !values.is_empty() => {
            let mut seen = HashSet::new();
            for (index, value) in values.iter().enumerate() {
                let prefix = format!("{}[{index}]", field::ORDER_ITEMS);
                let Some(item_object) = value.as_object() else {
                    errors.push(FieldError::new(
                        code::INVALID,
                        prefix,
                        "An order item must be an object.",
                    ));
                    continue;
                };
                let item = read_item(item_object, prefix.clone(), &mut errors);
                if !item.line_item_id.is_empty() && !seen.insert(item.line_item_id.clone()) {
                    errors.push(FieldError::new(
                        code::INVALID,
                        format!("{prefix}.{}", field::LINE_ITEM_ID),
                        format!("LineItemId '{}' appears more than once.", item.line_item_id),
                    ));
                }
                items.push(item);
            }
        }
        _ => errors.push(FieldError::new(
            code::REQUIRED,
            field::ORDER_ITEMS,
            "OrderItems must list at least one item.",
        )),
    }

    match (errors.is_empty(), order_date) {
        (true, Some(order_date)) => Ok(OrderRequest {
            account_code,
            order_number,
            order_date,
            dispatch_date,
            delivery_date,
            event_date,
            warehouse_return_date,
            first_name,
            last_name,
            mobile_phone,
            email,
            address,
            delivery_service,
            delivery_agent,
            delivery_charge,
            comments,
            cancelled,
            items,
            other_fields,
        }),
        _ => Err(errors),
    }
}

fn read_item(
    object: &Map<String, Value>,
    prefix: String,
    errors: &mut Vec<FieldError>,
) -> OrderItem {
    let mut reader = Reader {
        object,
        prefix,
        errors,
    };
    let line_item_id = reader.required_text(field::LINE_ITEM_ID);
    let sku = match reader.optional_text(field::GARMENT_SKU) {
        Some(sku) => sku,
        None => reader.required_text(field::GARMENT_SKU_ALT),
    };
    let is_hire = reader.flag(field::IS_HIRE);
    let price = reader
        .optional_decimal(field::ITEM_PRICE)
        .unwrap_or_default();
    let quantity = reader.quantity(field::ITEM_QUANTITY);
    let item_condition = reader.optional_text(field::ITEM_CONDITION);
    let grade = reader.optional_text(field::GRADE);
    let other_fields = reader.others(ITEM_FIELDS);
    OrderItem {
        line_item_id,
        sku,
        is_hire,
        price,
        quantity,
        item_condition,
        grade,
        other_fields,
    }
}

/// What the warehouse checks an order against: its service codes, carriers
/// and item catalogue.
pub struct References<'a> {
    pub service_codes: &'a [String],
    pub delivery_agents: &'a [String],
    pub catalogue: &'a HashMap<String, CatalogueItem>,
}

/// Checks an order against the warehouse's reference data.
pub fn check_references(order: &OrderRequest, refs: &References<'_>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !refs
        .service_codes
        .iter()
        .any(|code| code == &order.delivery_service)
    {
        errors.push(FieldError::new(
            code::UNKNOWN_SERVICE,
            field::DELIVERY_SERVICE,
            format!(
                "DeliveryService '{}' is not a valid service code; expected one of {}.",
                order.delivery_service,
                refs.service_codes.join(", ")
            ),
        ));
    }
    if !refs
        .delivery_agents
        .iter()
        .any(|agent| agent == &order.delivery_agent)
    {
        errors.push(FieldError::new(
            code::UNKNOWN_AGENT,
            field::DELIVERY_AGENT,
            format!(
                "DeliveryAgent '{}' is not a valid carrier; expected one of {}.",
                order.delivery_agent,
                refs.delivery_agents.join(", ")
            ),
        ));
    }
    for (index, item) in order.items.iter().enumerate() {
        let prefix = format!("{}[{index}]", field::ORDER_ITEMS);
        let Some(catalogue_item) = refs.catalogue.get(&item.sku) else {
            errors.push(FieldError::new(
                code::UNKNOWN_SKU,
                format!("{prefix}.{}", field::GARMENT_SKU),
                format!("GarmentSku '{}' is not in the item catalogue.", item.sku),
            ));
            continue;
        };
        if !catalogue_item.refurbished {
            continue;
        }
        // Inferred: refurbished goods must say which condition and grade
        // were sold, so the warehouse picks a matching unit (scenario S04).
        if item.item_condition.is_none() {
            errors.push(FieldError::new(
                code::MISSING_CONDITION,
                format!("{prefix}.{}", field::ITEM_CONDITION),
                format!(
                    "ItemCondition is required for refurbished item '{}'.",
                    item.sku
                ),
            ));
        }
        match &item.grade {
            None => errors.push(FieldError::new(
                code::MISSING_GRADE,
                format!("{prefix}.{}", field::GRADE),
                format!("Grade is required for refurbished item '{}'.", item.sku),
            )),
            Some(grade) if !SELLABLE_ITEM_GRADES.contains(&grade.as_str()) => {
                errors.push(FieldError::new(
                    code::INVALID,
                    format!("{prefix}.{}", field::GRADE),
                    format!(
                        "Grade '{grade}' is not one of {}.",
                        SELLABLE_ITEM_GRADES.join(", ")
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body() -> Value {
        json!({
            "AccountCode": "TEST", "OrderNumber": "A-1", "OrderDate": "2024-03-01",
            "FirstName": "Ada", "LastName": "Lovelace",
            "Delivery_Address1": "1 Road", "Delivery_Address2": "", "Delivery_Address4": null,
            "Delivery_City": "Glasgow", "Delivery_Postcode": "G1 1AA",
            "DeliveryService": "ND", "DeliveryAgent": "DPD", "Misc1": null,
            "OrderItems": [{"LineItemId": "001", "GarmentSKU": "SKU1", "IsHire": false,
                            "ItemPrice": 12.5, "ItemQuantity": 2, "Measurement1": "44"}]
        })
    }

    #[test]
    fn reads_both_sku_casings_and_keeps_unknown_fields() {
        let order = parse_order(&body()).expect("valid");
        assert_eq!(order.items[0].sku, "SKU1");
        assert_eq!(order.items[0].price, Decimal::new(125, 1));
        assert!(order.items[0].other_fields.contains_key("Measurement1"));
        assert!(order.other_fields.contains_key("Misc1"));
        assert_eq!(order.address.line2, None);
    }

    #[test]
    fn reports_every_missing_field_by_path() {
        let mut value = body();
        value["Delivery_City"] = json!("");
        value["OrderItems"][0]["ItemQuantity"] = json!(0);
        value["OrderDate"] = json!("01/03/2024");
        let errors = parse_order(&value).expect_err("invalid");
        let fields: Vec<_> = errors.iter().filter_map(|e| e.field.clone()).collect();
        assert!(fields.contains(&"Delivery_City".to_string()));
        assert!(fields.contains(&"OrderItems[0].ItemQuantity".to_string()));
        assert!(fields.contains(&"OrderDate".to_string()));
    }
}
