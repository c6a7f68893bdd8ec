//! Failures an operator or a test can inject into the outcome of the next
//! modifications (the admin API's `failures`), beside the transport-level
//! faults of `crate::faults`. Each counter is consumed by one accepted
//! modification of its kind.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailureToggles {
    /// Next N captures answer CAPTURE with success false.
    pub refuse_captures: u32,
    /// Next N captures answer CAPTURE success, then CAPTURE_FAILED.
    pub fail_captures_after_success: u32,
    /// Next N refunds answer REFUND with success false.
    pub refuse_refunds: u32,
    /// Next N refunds answer REFUND success, then REFUND_FAILED.
    pub fail_refunds_after_success: u32,
    /// Next N amount updates answer AUTHORISATION_ADJUSTMENT with success false.
    pub refuse_amount_updates: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    None,
    Refuse,
    FailAfterSuccess,
}

fn take(counter: &mut u32) -> bool {
    if *counter > 0 {
        *counter -= 1;
        true
    } else {
        false
    }
}

impl FailureToggles {
    pub fn take_capture(&mut self) -> Injected {
        if take(&mut self.refuse_captures) {
            Injected::Refuse
        } else if take(&mut self.fail_captures_after_success) {
            Injected::FailAfterSuccess
        } else {
            Injected::None
        }
    }

    pub fn take_refund(&mut self) -> Injected {
        if take(&mut self.refuse_refunds) {
            Injected::Refuse
        } else if take(&mut self.fail_refunds_after_success) {
            Injected::FailAfterSuccess
        } else {
            Injected::None
        }
    }

    pub fn take_amount_update_refusal(&mut self) -> bool {
        take(&mut self.refuse_amount_updates)
    }
}
