//! The payment ledger: what a payment has authorised, captured and refunded,
//! and which modifications its state allows. Pure: no I/O, no clock, no
//! randomness; the caller passes the new PSP reference and the time.
//!
//! Rules (backends.md §4.4, inferred from Adyen's documentation): a capture
//! may not exceed the open authorisation; without multiple partial captures
//! a partial capture releases the remainder; an amount update needs a
//! pre-authorised payment with nothing captured; refunds may not exceed what
//! is captured and not yet refunded; a cancel releases the open
//! authorisation. Outcomes are decided when the request is received, and the
//! events that report them are returned for the caller to send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::failures::{FailureToggles, Injected};
use super::vendor::{reasons, AdyenError, Amount, EventCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ModificationKind {
    Capture,
    Refund,
    AmountUpdate,
    Cancel,
    Reversal,
}

/// How a modification ended, as its webhooks report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "result", content = "reason")]
pub enum Outcome {
    Succeeded,
    /// Reported with `success: "false"` on the modification's own event.
    Refused(String),
    /// Reported as success first, then as CAPTURE_FAILED / REFUND_FAILED.
    FailedAfterSuccess(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modification {
    pub psp_reference: String,
    pub kind: ModificationKind,
    pub reference: Option<String>,
    pub amount: Option<Amount>,
    pub outcome: Outcome,
    pub received_at: DateTime<Utc>,
    /// `lineItems`, `merchantRefundReason`, `industryUsage` as sent.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

/// A payment and everything done to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    pub psp_reference: String,
    pub merchant_account: String,
    pub merchant_reference: String,
    pub currency: String,
    /// Minor units.
    pub authorised: i64,
    pub captured: i64,
    pub refunded: i64,
    /// The rest of the authorisation was released (cancel, or a partial
    /// capture without multiple partial captures).
    pub remainder_released: bool,
    pub preauth: bool,
    pub multiple_partial_captures: bool,
    pub payment_method: String,
    pub created_at: DateTime<Utc>,
    pub modifications: Vec<Modification>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaymentStatus {
    Authorised,
    PartiallyCaptured,
    Captured,
    PartiallyRefunded,
    Refunded,
    Cancelled,
}

/// One event a modification produces (the caller turns it into a notification).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub code: EventCode,
    pub success: bool,
    pub reason: String,
    pub amount: Amount,
}

/// A modification as received: what to do, with its new PSP reference.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: ModificationKind,
    pub psp_reference: String,
    pub reference: Option<String>,
    pub amount: Option<Amount>,
    pub details: serde_json::Value,
    pub now: DateTime<Utc>,
}

impl Payment {
    /// Authorisation still open for capture.
    pub fn open_authorisation(&self) -> i64 {
        if self.remainder_released {
            0
        } else {
            (self.authorised - self.captured).max(0)
        }
    }

    pub fn refundable(&self) -> i64 {
        (self.captured - self.refunded).max(0)
    }

    pub fn status(&self) -> PaymentStatus {
        if self.captured == 0 {
            return if self.remainder_released {
                PaymentStatus::Cancelled
            } else {
                PaymentStatus::Authorised
            };
        }
        if self.refunded >= self.captured {
            PaymentStatus::Refunded
        } else if self.refunded > 0 {
            PaymentStatus::PartiallyRefunded
        } else if self.open_authorisation() > 0 {
            PaymentStatus::PartiallyCaptured
        } else {
            PaymentStatus::Captured
        }
    }

    fn amount(&self, value: i64) -> Amount {
        Amount::new(self.currency.clone(), value)
    }

    fn checked_amount(&self, request: &Request) -> Result<i64, AdyenError> {
        let amount = request
            .amount
            .as_ref()
            .ok_or_else(AdyenError::missing_amount)?;
        if amount.currency != self.currency {
            return Err(AdyenError::unsupported_currency());
        }
        if amount.value <= 0 {
            return Err(AdyenError::invalid_amount());
        }
        Ok(amount.value)
    }

    /// Validates and applies a modification. `Err` is the synchronous
    /// refusal (the 4xx); `Ok` is the events to notify. The modification is
    /// recorded on the payment either way only when it is accepted.
    pub fn modify(
        &mut self,
        request: Request,
        failures: &mut FailureToggles,
    ) -> Result<Vec<Event>, AdyenError> {
        let (outcome, events) = match request.kind {
            ModificationKind::Capture => self.capture(&request, failures)?,
            ModificationKind::Refund => self.refund(&request, failures)?,
            ModificationKind::AmountUpdate => self.update_amount(&request, failures)?,
            ModificationKind::Cancel => self.cancel(),
            ModificationKind::Reversal => self.reverse()?,
        };
        self.modifications.push(Modification {
            psp_reference: request.psp_reference,
            kind: request.kind,
            reference: request.reference,
            amount: request.amount,
            outcome,
            received_at: request.now,
            details: request.details,
        });
        Ok(events)
    }

    fn capture(
        &mut self,
        request: &Request,
        failures: &mut FailureToggles,
    ) -> Result<(Outcome, Vec<Event>), AdyenError> {
        let value = self.checked_amount(request)?;
        let open = self.open_authorisation();
        if value > open {
            return Err(AdyenError::invalid_amount());
        }
        let amount = self.amount(value);
        Ok(match failures.take_capture() {
            Injected::Refuse => refused(EventCode::Capture, reasons::CAPTURE_REFUSED, amount),
            Injected::FailAfterSuccess => failed_after_success(
                EventCode::Capture,
                EventCode::CaptureFailed,
                reasons::CAPTURE_FAILED,
                amount,
            ),
            Injected::None => {
                self.captured += value;
                if !self.multiple_partial_captures && value < open {
                    // Adyen's default: the rest of a partially captured authorisation is cancelled.
                    self.remainder_released = true;
                }
                succeeded(EventCode::Capture, amount)
            }
        })
    }

    fn refund(
        &mut self,
        request: &Request,
        failures: &mut FailureToggles,
    ) -> Result<(Outcome, Vec<Event>), AdyenError> {
        let value = self.checked_amount(request)?;
        if value > self.refundable() {
            return Err(AdyenError::invalid_amount());
        }
        let amount = self.amount(value);
        Ok(match failures.take_refund() {
            Injected::Refuse => refused(EventCode::Refund, reasons::REFUND_REFUSED, amount),
            Injected::FailAfterSuccess => failed_after_success(
                EventCode::Refund,
                EventCode::RefundFailed,
                reasons::REFUND_FAILED,
                amount,
            ),
            Injected::None => {
                self.refunded += value;
                succeeded(EventCode::Refund, amount)
            }
        })
    }

    /// Synchronous 422 when Adyen's own ledger forbids it (something
    /// captured, or nothing left authorised); a failed
    /// AUTHORISATION_ADJUSTMENT webhook when the issuer or the payment's
    /// authorisation type decides (not a pre-authorisation, injected refusal),
    /// as Adyen reports adjustment outcomes asynchronously. Inferred split.
    fn update_amount(
        &mut self,
        request: &Request,
        failures: &mut FailureToggles,
    ) -> Result<(Outcome, Vec<Event>), AdyenError> {
        let value = self.checked_amount(request)?;
        if self.captured > 0 {
            return Err(AdyenError::not_allowed("the payment has captured amounts"));
        }
        if self.remainder_released {
            return Err(AdyenError::not_allowed("the authorisation was cancelled"));
        }
        let amount = self.amount(value);
        if !self.preauth {
            return Ok(refused(
                EventCode::AuthorisationAdjustment,
                reasons::ADJUSTMENT_NOT_PREAUTH,
                amount,
            ));
        }
        if failures.take_amount_update_refusal() {
            return Ok(refused(
                EventCode::AuthorisationAdjustment,
                reasons::ADJUSTMENT_REFUSED,
                amount,
            ));
        }
        self.authorised = value;
        Ok(succeeded(EventCode::AuthorisationAdjustment, amount))
    }

    /// Releases the open authorisation. With nothing open Adyen accepts the
    /// request and reports CANCELLATION with success false (inferred).
    fn cancel(&mut self) -> (Outcome, Vec<Event>) {
        let open = self.open_authorisation();
        let amount = self.amount(open.max(0));
        if open == 0 {
            return refused(EventCode::Cancellation, reasons::NOTHING_TO_CANCEL, amount);
        }
        self.remainder_released = true;
        succeeded(EventCode::Cancellation, amount)
    }

    /// CANCEL_OR_REFUND: cancels if nothing is captured, else refunds what is
    /// captured and releases the rest. Refused for payments with multiple
    /// partial captures, which Adyen says must not use reversals.
    fn reverse(&mut self) -> Result<(Outcome, Vec<Event>), AdyenError> {
        if self.multiple_partial_captures && self.captured > 0 {
            return Err(AdyenError::not_allowed(
                "reversals are not supported for payments with multiple partial captures",
            ));
        }
        let refundable = self.refundable();
        let open = self.open_authorisation();
        let amount = self.amount(self.authorised);
        if refundable == 0 && open == 0 {
            return Ok(refused(
                EventCode::CancelOrRefund,
                reasons::NOTHING_TO_REVERSE,
                amount,
            ));
        }
        self.refunded += refundable;
        self.remainder_released = true;
        Ok(succeeded(EventCode::CancelOrRefund, amount))
    }
}

fn succeeded(code: EventCode, amount: Amount) -> (Outcome, Vec<Event>) {
    (
        Outcome::Succeeded,
        vec![Event {
            code,
            success: true,
            reason: String::new(),
            amount,
        }],
    )
}

fn refused(code: EventCode, reason: &str, amount: Amount) -> (Outcome, Vec<Event>) {
    (
        Outcome::Refused(reason.to_string()),
        vec![Event {
            code,
            success: false,
            reason: reason.to_string(),
            amount,
        }],
    )
}

fn failed_after_success(
    code: EventCode,
    failure: EventCode,
    reason: &str,
    amount: Amount,
) -> (Outcome, Vec<Event>) {
    (
        Outcome::FailedAfterSuccess(reason.to_string()),
        vec![
            Event {
                code,
                success: true,
                reason: String::new(),
                amount: amount.clone(),
            },
            Event {
                code: failure,
                success: false,
                reason: reason.to_string(),
                amount,
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payment(preauth: bool, mpc: bool) -> Payment {
        Payment {
            psp_reference: "PAY".into(),
            merchant_account: "M".into(),
            merchant_reference: "100234".into(),
            currency: "EUR".into(),
            authorised: 10_000,
            captured: 0,
            refunded: 0,
            remainder_released: false,
            preauth,
            multiple_partial_captures: mpc,
            payment_method: "visa".into(),
            created_at: Utc::now(),
            modifications: vec![],
        }
    }

    fn request(kind: ModificationKind, value: Option<i64>) -> Request {
        Request {
            kind,
            psp_reference: "MOD".into(),
            reference: None,
            amount: value.map(|v| Amount::new("EUR", v)),
            details: serde_json::Value::Null,
            now: Utc::now(),
        }
    }

    fn code(result: Result<Vec<Event>, AdyenError>) -> String {
        result.err().map(|e| e.error_code).unwrap_or_default()
    }

    #[test]
    fn partial_capture_without_mpc_releases_the_remainder() {
        let mut p = payment(false, false);
        let mut f = FailureToggles::default();
        assert!(p
            .modify(request(ModificationKind::Capture, Some(4_000)), &mut f)
            .is_ok());
        assert_eq!(p.status(), PaymentStatus::Captured);
        assert_eq!(p.open_authorisation(), 0);
        assert_eq!(
            code(p.modify(request(ModificationKind::Capture, Some(1)), &mut f)),
            "137"
        );
    }

    #[test]
    fn mpc_allows_captures_up_to_the_authorisation() {
        let mut p = payment(false, true);
        let mut f = FailureToggles::default();
        assert!(p
            .modify(request(ModificationKind::Capture, Some(4_000)), &mut f)
            .is_ok());
        assert_eq!(p.status(), PaymentStatus::PartiallyCaptured);
        assert!(p
            .modify(request(ModificationKind::Capture, Some(6_000)), &mut f)
            .is_ok());
        assert_eq!(
            code(p.modify(request(ModificationKind::Capture, Some(1)), &mut f)),
            "137"
        );
        assert_eq!(p.captured, 10_000);
    }

    #[test]
    fn refunds_are_bounded_by_what_is_captured() {
        let mut p = payment(false, false);
        let mut f = FailureToggles::default();
        p.modify(request(ModificationKind::Capture, Some(5_000)), &mut f)
            .ok();
        assert_eq!(
            code(p.modify(request(ModificationKind::Refund, Some(5_001)), &mut f)),
            "137"
        );
        assert!(p
            .modify(request(ModificationKind::Refund, Some(5_000)), &mut f)
            .is_ok());
        assert_eq!(p.status(), PaymentStatus::Refunded);
    }

    #[test]
    fn currency_mismatch_and_missing_amount_are_refused() {
        let mut p = payment(false, false);
        let mut f = FailureToggles::default();
        let mut wrong = request(ModificationKind::Capture, None);
        assert_eq!(code(p.modify(wrong.clone(), &mut f)), "100");
        wrong.amount = Some(Amount::new("SEK", 100));
        assert_eq!(code(p.modify(wrong, &mut f)), "138");
        assert!(p.modifications.is_empty());
    }

    #[test]
    fn amount_update_needs_preauth_and_nothing_captured() {
        let mut p = payment(true, false);
        let mut f = FailureToggles::default();
        let events = p.modify(
            request(ModificationKind::AmountUpdate, Some(12_000)),
            &mut f,
        );
        assert!(events.is_ok_and(|e| e[0].success));
        assert_eq!(p.authorised, 12_000);
        p.modify(request(ModificationKind::Capture, Some(12_000)), &mut f)
            .ok();
        let after = p.modify(
            request(ModificationKind::AmountUpdate, Some(13_000)),
            &mut f,
        );
        assert_eq!(code(after), "010");

        let mut not_preauth = payment(false, false);
        let events = not_preauth.modify(request(ModificationKind::AmountUpdate, Some(1)), &mut f);
        assert!(events.is_ok_and(|e| !e[0].success));
        assert_eq!(not_preauth.authorised, 10_000);
    }

    #[test]
    fn injected_refund_failure_after_success_leaves_the_balance() {
        let mut p = payment(false, false);
        let mut f = FailureToggles {
            fail_refunds_after_success: 1,
            ..Default::default()
        };
        p.modify(request(ModificationKind::Capture, Some(5_000)), &mut f)
            .ok();
        let events = p.modify(request(ModificationKind::Refund, Some(1_000)), &mut f);
        let codes: Vec<_> = events
            .unwrap_or_default()
            .iter()
            .map(|e| (e.code, e.success))
            .collect();
        assert_eq!(
            codes,
            [(EventCode::Refund, true), (EventCode::RefundFailed, false)]
        );
        assert_eq!(p.refunded, 0);
        assert_eq!(f.fail_refunds_after_success, 0);
    }

    #[test]
    fn cancel_releases_and_reversal_refunds() {
        let mut p = payment(false, false);
        let mut f = FailureToggles::default();
        assert!(p
            .modify(request(ModificationKind::Cancel, None), &mut f)
            .is_ok());
        assert_eq!(p.status(), PaymentStatus::Cancelled);
        let mut q = payment(false, false);
        q.modify(request(ModificationKind::Capture, Some(10_000)), &mut f)
            .ok();
        assert!(q
            .modify(request(ModificationKind::Reversal, None), &mut f)
            .is_ok());
        assert_eq!(q.refunded, 10_000);
    }
}
