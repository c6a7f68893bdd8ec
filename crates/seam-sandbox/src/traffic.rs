//! A traffic generator that trades like a fashion brand.
//!
//! Each step draws one action from a configurable mix with a seeded RNG:
//! checkouts in Centra (several currencies and VAT rates, vouchers, a bundle,
//! shipping methods of which one is unmapped) authorised in Adyen first;
//! stock moving through non-sellable statuses at the 3PL; dispatches, some
//! partial, of orders the hub has posted to the 3PL; return and exchange
//! requests in Reveni for shipped orders; returns received and graded at the
//! 3PL with every disposition; and order edits made in NetSuite. Actions that
//! need something the hub has not done yet (no posted order to dispatch)
//! simply find nothing to act on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::brand::{Brand, SHIPPING_METHODS};
use crate::centra::{AddressData, NewOrder, NewOrderLine, NewVoucher, OrderStatus};
use crate::sandbox::Sandbox;
use crate::warehouse::{
    DispatchLineRequest, DispatchRequest, Disposition, Grade, ReturnLineRequest, ReturnRequest,
};
use crate::{adyen, centra, netsuite, reveni, warehouse};

/// Relative weights of the actions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mix {
    pub place_order: u32,
    pub stock_movement: u32,
    pub dispatch: u32,
    pub return_request: u32,
    pub exchange_request: u32,
    pub receive_return: u32,
    pub erp_edit: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            place_order: 40,
            stock_movement: 25,
            dispatch: 15,
            return_request: 8,
            exchange_request: 3,
            receive_return: 6,
            erp_edit: 3,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrafficConfig {
    pub seed: u64,
    /// Actions per second.
    pub rate: f64,
    pub mix: Mix,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            seed: 1,
            rate: 2.0,
            mix: Mix::default(),
        }
    }
}

/// What the generator did, counted per action.
#[derive(Debug, Default)]
pub struct TrafficStats {
    pub orders_placed: AtomicU64,
    pub stock_movements: AtomicU64,
    pub dispatches: AtomicU64,
    pub returns_requested: AtomicU64,
    pub exchanges_requested: AtomicU64,
    pub returns_received: AtomicU64,
    pub erp_edits: AtomicU64,
    pub idle: AtomicU64,
}

/// Handles on the simulators the generator drives.
#[derive(Clone)]
pub struct Systems {
    pub brand: Arc<Brand>,
    pub centra: centra::CentraSim,
    pub warehouse: warehouse::WarehouseSim,
    pub reveni: reveni::ReveniSim,
    pub netsuite: netsuite::NetSuiteSim,
    pub adyen: adyen::AdyenSim,
}

impl Systems {
    pub fn of(sandbox: &Sandbox) -> Systems {
        Systems {
            brand: Arc::new(sandbox.brand.clone()),
            centra: sandbox.centra.clone(),
            warehouse: sandbox.warehouse.clone(),
            reveni: sandbox.reveni.clone(),
            netsuite: sandbox.netsuite.clone(),
            adyen: sandbox.adyen.clone(),
        }
    }
}

/// A market: currency, VAT rate and price factor from EUR.
struct Market {
    currency: &'static str,
    country: &'static str,
    vat: i64,
    factor: Decimal,
    shipping: Decimal,
}

fn markets() -> [Market; 3] {
    [
        Market {
            currency: "EUR",
            country: "DE",
            vat: 19,
            factor: Decimal::ONE,
            shipping: Decimal::new(495, 2),
        },
        Market {
            currency: "SEK",
            country: "SE",
            vat: 25,
            factor: Decimal::from(11),
            shipping: Decimal::from(49),
        },
        Market {
            currency: "GBP",
            country: "GB",
            vat: 20,
            factor: Decimal::new(86, 2),
            shipping: Decimal::new(395, 2),
        },
    ]
}

pub struct TrafficGenerator {
    systems: Systems,
    config: TrafficConfig,
    rng: ChaCha8Rng,
    placed: Vec<i32>,
    stats: Arc<TrafficStats>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    PlaceOrder,
    StockMovement,
    Dispatch,
    ReturnRequest,
    ExchangeRequest,
    ReceiveReturn,
    ErpEdit,
}

impl TrafficGenerator {
    pub fn new(systems: Systems, config: TrafficConfig) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(config.seed);
        TrafficGenerator {
            systems,
            config,
            rng,
            placed: Vec::new(),
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> Arc<TrafficStats> {
        self.stats.clone()
    }

    /// Centra order numbers placed so far.
    pub fn placed_orders(&self) -> &[i32] {
        &self.placed
    }

    /// Steps at the configured rate until `stop`.
    pub async fn run(&mut self, stop: CancellationToken) {
        let period = Duration::from_secs_f64(1.0 / self.config.rate.max(0.01));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticker.tick() => { self.step(); }
            }
        }
    }

    /// Performs one action drawn from the mix; returns a line describing it.
    pub fn step(&mut self) -> String {
        let action = self.draw_action();
        let done = match action {
            Action::PlaceOrder => self.place_order(),
            Action::StockMovement => self.stock_movement(),
            Action::Dispatch => self.dispatch(),
            Action::ReturnRequest => self.return_request(false),
            Action::ExchangeRequest => self.return_request(true),
            Action::ReceiveReturn => self.receive_return(),
            Action::ErpEdit => self.erp_edit(),
        };
        match done {
            Some(description) => {
                tracing::debug!(target: "seam_sandbox::traffic", "{description}");
                description
            }
            None => {
                self.stats.idle.fetch_add(1, Ordering::Relaxed);
                format!("{action:?}: nothing to act on")
            }
        }
    }

    fn draw_action(&mut self) -> Action {
        let m = &self.config.mix;
        let weighted = [
            (Action::PlaceOrder, m.place_order),
            (Action::StockMovement, m.stock_movement),
            (Action::Dispatch, m.dispatch),
            (Action::ReturnRequest, m.return_request),
            (Action::ExchangeRequest, m.exchange_request),
            (Action::ReceiveReturn, m.receive_return),
            (Action::ErpEdit, m.erp_edit),
        ];
        let total: u32 = weighted.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.gen_range(0..total.max(1));
        for (action, weight) in weighted {
            if roll < weight {
                return action;
            }
            roll -= weight;
        }
        Action::PlaceOrder
    }

    /// A checkout: authorised in Adyen, then placed in Centra.
    pub fn place_order(&mut self) -> Option<String> {
        let brand = self.systems.brand.clone();
        let market = &markets()[self.rng.gen_range(0..3)];
        let mut lines = Vec::new();
        let mut items_total = Decimal::ZERO;
        let line_count = self.rng.gen_range(1..=3);
        for _ in 0..line_count {
            let sku = brand.skus.choose(&mut self.rng)?;
            let fta = self
                .systems
                .centra
                .stock_of(&sku.sku)
                .map(|s| s.free_to_allocate)
                .unwrap_or(0);
            if fta < 1 || lines.iter().any(|l: &NewOrderLine| l.sku == sku.sku) {
                continue;
            }
            let unit_price = (sku.price_eur * market.factor).round_dp(0) - Decimal::new(5, 2);
            items_total += unit_price;
            lines.push(NewOrderLine {
                sku: sku.sku.clone(),
                quantity: 1,
                unit_price,
                tax_percent: Decimal::from(market.vat),
                ..Default::default()
            });
        }
        if self.rng.gen_bool(0.1) {
            // The capsule bundle at 20% off the sum of its three pieces (story S11).
            let size = crate::brand::SIZES[self.rng.gen_range(0..crate::brand::SIZES.len())];
            let components: Vec<String> = brand
                .bundle_sections
                .iter()
                .map(|variant| format!("{variant}{size}"))
                .collect();
            let in_stock = |sku: &String| {
                self.systems
                    .centra
                    .stock_of(sku)
                    .is_some_and(|s| s.free_to_allocate > 0)
            };
            if !components.iter().all(in_stock) || lines.iter().any(|l| components.contains(&l.sku))
            {
                return None;
            }
            let full: Decimal = components
                .iter()
                .filter_map(|c| brand.sku(c))
                .map(|s| (s.price_eur * market.factor).round_dp(0))
                .sum();
            let unit_price = (full * Decimal::new(8, 1)).round_dp(2);
            items_total += unit_price;
            lines.push(NewOrderLine {
                sku: brand.bundle_sku.clone(),
                quantity: 1,
                unit_price,
                unit_original_price: Some(full),
                tax_percent: Decimal::from(market.vat),
                bundle_items: components,
                ..Default::default()
            });
        }
        if lines.is_empty() {
            return None;
        }
        let mut vouchers = Vec::new();
        if self.rng.gen_bool(0.2) {
            let value = (items_total * Decimal::new(1, 1)).round_dp(2);
            vouchers.push(NewVoucher {
                name: "Welcome 10%".into(),
                code: Some("WELCOME10".into()),
                value,
            });
        }
        let method = *[
            (SHIPPING_METHODS[0], 60),
            (SHIPPING_METHODS[1], 20),
            (SHIPPING_METHODS[2], 15),
            (SHIPPING_METHODS[3], 5),
        ]
        .choose_weighted(&mut self.rng, |(_, w)| *w)
        .map(|(m, _)| m)
        .ok()?;
        let voucher_total: Decimal = vouchers.iter().map(|v| v.value).sum();
        let total = items_total - voucher_total + market.shipping;
        let minor = (total * Decimal::from(100)).round_dp(0);
        let payment = self
            .systems
            .adyen
            .create_payment(adyen::NewPayment {
                merchant_reference: format!("checkout-{}", self.placed.len() + 1),
                amount: adyen::Amount {
                    currency: market.currency.into(),
                    value: i64::try_from(minor).ok()?,
                },
                preauth: true,
                multiple_partial_captures: true,
                payment_method: None,
            })
            .ok()?;
        let n = self.rng.gen_range(1..10_000);
        let order = NewOrder {
            lines,
            vouchers,
            currency: market.currency.into(),
            shipping_method: method.into(),
            shipping_price: market.shipping,
            shipping_tax_percent: Decimal::from(market.vat),
            shipping_address: AddressData {
                first_name: "Alex".into(),
                last_name: format!("Customer{n}"),
                company_name: None,
                address1: format!("{n} High Street"),
                address2: None,
                city: "Glasgow".into(),
                zip_code: "G1 1AA".into(),
                state_or_province: None,
                country_code: market.country.into(),
                email: Some(format!("alex{n}@example.com")),
                phone_number: Some("+44 7700 900000".into()),
            },
            billing_address: None,
            customer_email: format!("alex{n}@example.com"),
            payment_method: Some("adyen-drop-in".into()),
            psp_reference: payment.psp_reference.clone(),
            external_id: None,
            is_on_hold: false,
            order_date: None,
        };
        let created = self.systems.centra.create_order(order).ok()?;
        self.placed.push(created.number);
        self.stats.orders_placed.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "order {} placed in {} ({method}), authorised {} as {}",
            created.number, market.currency, total, payment.psp_reference
        ))
    }

    /// Units moving through the 3PL's statuses.
    fn stock_movement(&mut self) -> Option<String> {
        let sku = self.systems.brand.skus.choose(&mut self.rng)?.sku.clone();
        let position = self.systems.warehouse.stock(&sku);
        let moves = [
            ("Available", "Quarantine"),
            ("Quarantine", "Available"),
            ("In-Refurbishment", "Available"),
            ("Post-Rental Inspection", "Available"),
            ("Available", "Damaged"),
            ("In warehouse processing", "Available"),
        ];
        let candidates: Vec<_> = moves
            .iter()
            .filter(|(from, _)| position.by_status.get(*from).copied().unwrap_or(0) > 0)
            .collect();
        let (from, to) = candidates.choose(&mut self.rng)?;
        self.systems.warehouse.move_stock(&sku, from, to, 1).ok()?;
        self.stats.stock_movements.fetch_add(1, Ordering::Relaxed);
        Some(format!("1 × {sku} moved {from} → {to}"))
    }

    /// Dispatches an order the hub posted, sometimes in two parcels.
    fn dispatch(&mut self) -> Option<String> {
        let open: Vec<_> = self
            .systems
            .warehouse
            .orders()
            .into_iter()
            .filter(|o| {
                !o.order_cancelled && (o.status == "Received" || o.status == "Part Dispatched")
            })
            .collect();
        let order = open.choose(&mut self.rng)?;
        let partial =
            order.order_items.len() > 1 && order.dispatches.is_empty() && self.rng.gen_bool(0.4);
        let lines = partial.then(|| {
            vec![DispatchLineRequest {
                line_item_id: order.order_items[0].line_item_id.clone(),
                quantity: 1,
            }]
        });
        let confirmation = self
            .systems
            .warehouse
            .dispatch(
                &order.order_number,
                &DispatchRequest {
                    lines,
                    carrier: None,
                    service: None,
                    tracking_number: None,
                },
            )
            .ok()?;
        self.stats.dispatches.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "{} dispatched {} by {} ({})",
            order.order_number,
            if partial { "in part" } else { "in full" },
            confirmation.carrier,
            confirmation.tracking_number
        ))
    }

    /// A shopper asks Reveni to return (or exchange) one shipped item.
    fn return_request(&mut self, exchange: bool) -> Option<String> {
        let shipped: Vec<_> = self
            .placed
            .iter()
            .filter_map(|n| self.systems.centra.order(*n))
            .filter(|o| {
                o.status != OrderStatus::Cancelled
                    && o.lines
                        .iter()
                        .any(|l| l.shipped_quantity > l.returned_quantity)
            })
            .collect();
        let order = shipped.choose(&mut self.rng)?;
        let line = order
            .lines
            .iter()
            .find(|l| l.shipped_quantity > l.returned_quantity)?;
        // Another size of the same variant, drawn: some are in stock (a
        // zero-value exchange order follows), some sold out (an exception
        // for CX until stock arrives).
        let exchange_sku = if exchange {
            let others: Vec<&str> = crate::brand::SIZES
                .iter()
                .copied()
                .filter(|s| *s != line.size)
                .collect();
            let other = others.choose(&mut self.rng).copied().unwrap_or("M");
            Some(format!(
                "{}{}{}",
                line.product_number, line.variant_number, other
            ))
        } else {
            None
        };
        let created = self
            .systems
            .reveni
            .create_return(reveni::NewReturn {
                order: reveni::OrderRef {
                    external_id: order.id.clone(),
                    number: order.number.to_string(),
                },
                currency: order.currency.clone(),
                instant: self.rng.gen_bool(0.3),
                return_type: None,
                items: vec![reveni::NewReturnItem {
                    sku: line.sku.clone(),
                    order_line_id: line.id.to_string(),
                    quantity: 1,
                    return_reason: if exchange {
                        "wrong_size".into()
                    } else {
                        "changed_mind".into()
                    },
                    exchange_sku: exchange_sku.clone(),
                    price: line.unit_price,
                }],
            })
            .ok()?;
        let counter = if exchange {
            &self.stats.exchanges_requested
        } else {
            &self.stats.returns_requested
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "return {} requested for order {} ({}{})",
            created.id,
            order.number,
            line.sku,
            exchange_sku.map(|s| format!(" → {s}")).unwrap_or_default()
        ))
    }

    /// The 3PL receives a requested return and grades it.
    fn receive_return(&mut self) -> Option<String> {
        let pending: Vec<_> = self
            .systems
            .reveni
            .returns()
            .into_iter()
            .filter(|r| {
                matches!(
                    r.status,
                    reveni::ReturnStatus::InProgress | reveni::ReturnStatus::Shipped
                )
            })
            .collect();
        let request = pending.choose(&mut self.rng)?;
        let (grade, disposition) = *[
            (Grade::A, Disposition::Restock),
            (Grade::B, Disposition::Restock),
            (Grade::C, Disposition::Refurbish),
            (Grade::C, Disposition::Repair),
            (Grade::Ber, Disposition::WriteOff),
            (Grade::Ber, Disposition::ExHire),
        ]
        .choose(&mut self.rng)?;
        let lines = request
            .return_items
            .iter()
            .map(|item| ReturnLineRequest {
                line_item_id: None,
                sku: Some(item.sku.clone()),
                quantity: u64::from(item.quantity),
                grade,
                disposition,
                notes: None,
            })
            .collect();
        let receipt = self
            .systems
            .warehouse
            .receive_and_grade_return(&ReturnRequest {
                order_number: Some(request.order.number.clone()),
                rma: Some(request.id.to_string()),
                lines,
            })
            .ok()?;
        let _ = self
            .systems
            .reveni
            .set_status(request.id, reveni::ReturnStatus::Received);
        self.stats.returns_received.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "return {} received and graded {grade:?}/{disposition:?} ({})",
            request.id, receipt.return_id
        ))
    }

    /// A customer-service rep edits an open sales order in NetSuite: one
    /// that has been there a few seconds at least (a rep does not edit an
    /// order in the milliseconds between its creation and the integration
    /// reading it back).
    fn erp_edit(&mut self) -> Option<String> {
        let settled = chrono::Utc::now() - chrono::Duration::seconds(5);
        let open: Vec<_> = self
            .systems
            .netsuite
            .records(netsuite::RecordType::SalesOrder)
            .into_iter()
            .filter(|r| r.status == Some('B') && r.created <= settled)
            .collect();
        let order = open.choose(&mut self.rng)?;
        let line = order.lines.first()?;
        let edit = netsuite::OrderEdit::SetQuantity {
            line: line.line,
            quantity: line.quantity + Decimal::ONE,
        };
        self.systems
            .netsuite
            .edit_order(&netsuite::RecordKey::Id(order.id), &[edit])
            .ok()?;
        self.stats.erp_edits.fetch_add(1, Ordering::Relaxed);
        Some(format!(
            "NetSuite order {} line {} quantity raised by one",
            order.id, line.line
        ))
    }
}
