//! Adyen simulator: the Checkout API v71 payment modifications (captures,
//! refunds, amount updates, cancels, reversals) over a per-payment ledger,
//! with `Idempotency-Key` replay, HMAC-signed standard notifications
//! delivered asynchronously, injectable outcome failures, and an admin API.
//!
//! Layout: `vendor` holds Adyen's names and shapes; `ledger` the pure
//! payment state machine; `failures` the injectable outcomes; `signature`
//! the notification HMAC; `idempotency` the stored responses; `notify`
//! building and queueing notifications; `sim` the state and handle; `api`
//! and `admin` the HTTP routes.

mod admin;
mod api;
mod failures;
mod idempotency;
mod ledger;
mod notify;
pub mod signature;
mod sim;
pub mod vendor;

pub use admin::PaymentView;
pub use failures::FailureToggles;
pub use ledger::{Modification, ModificationKind, Outcome, Payment, PaymentStatus};
pub use notify::WebhookTarget;
pub use signature::{sign as sign_notification, verify_item as verify_notification, SignedFields};
pub use sim::{AdyenSim, NewPayment};
pub use vendor::{AdyenError, Amount, EventCode, NotificationBatch, NotificationRequestItem};

use crate::faults::Faults;
use crate::server::{serve, RunningServer};

#[derive(Debug, Clone, PartialEq)]
pub struct AdyenConfig {
    /// Expected in `X-API-Key`.
    pub api_key: String,
    /// The merchant account every request must name.
    pub merchant_account: String,
    /// The company account idempotency keys are scoped to.
    pub company_account: String,
    /// The Customer Area HMAC key, hex; notifications are signed with it.
    pub hmac_key_hex: String,
    /// Notification URL registered at start; `None` until set through admin.
    pub webhook_url: Option<String>,
    /// The `live` flag of notification batches.
    pub live: bool,
    /// `paymentMethod` of payments created without one.
    pub default_payment_method: String,
}

impl Default for AdyenConfig {
    fn default() -> Self {
        AdyenConfig {
            api_key: "seam-sandbox-adyen-api-key".to_string(),
            merchant_account: "SeamSandboxECOM".to_string(),
            company_account: "SeamSandbox".to_string(),
            hmac_key_hex: "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
                .to_string(),
            webhook_url: None,
            live: false,
            default_payment_method: "visa".to_string(),
        }
    }
}

/// Starts the simulator on `127.0.0.1:port` (0 picks a free port).
pub async fn start(
    config: AdyenConfig,
    seed: u64,
    port: u16,
) -> std::io::Result<(AdyenSim, RunningServer)> {
    let faults = Faults::new(seed);
    let sim = AdyenSim::new(config, seed, faults.clone());
    let router = api::routes(sim.clone()).merge(admin::routes(sim.clone()));
    let server = serve("adyen", port, router, faults).await?;
    Ok((sim, server))
}
