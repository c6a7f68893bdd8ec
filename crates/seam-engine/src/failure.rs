//! Failure classes and their default actions.
//!
//! Every failure a handler or connector meets is put in one class; the
//! class decides what happens unless the handler says otherwise:
//!
//! | class        | default action                                                  |
//! |--------------|-----------------------------------------------------------------|
//! | transient    | retry with exponential backoff and jitter; exception when spent |
//! | rate-limited | retry after the vendor's Retry-After (or backoff); same limit   |
//! | auth         | exception for Engineering at once: retrying cannot help         |
//! | data         | exception for the owner the handler names, at once              |
//! | duplicate    | done: the effect already happened (idempotent replay)          |
//! | too large    | exception for Engineering at once                               |
//! | circuit open | not an attempt: run again once the connector's circuit closes   |

use std::fmt;
use std::time::Duration;

use seam_model::OwnerTeam;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    Transient,
    RateLimited,
    Auth,
    Data,
    Duplicate,
    TooLarge,
    /// The call was never made: the connector's circuit is open after
    /// repeated failures of the system. The job waits for the circuit to
    /// close (`retry_after`) and the refusal does not count as an attempt,
    /// or a burst of jobs would spend their attempts in the seconds the
    /// circuit holds calls and park as exceptions while the system was
    /// already answering again.
    CircuitOpen,
}

impl FailureClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            FailureClass::Transient => "transient",
            FailureClass::RateLimited => "rate_limited",
            FailureClass::Auth => "auth",
            FailureClass::Data => "data",
            FailureClass::Duplicate => "duplicate",
            FailureClass::TooLarge => "too_large",
            FailureClass::CircuitOpen => "circuit_open",
        }
    }

    /// Whether the default action is to try again later.
    pub fn retries_by_default(&self) -> bool {
        matches!(
            self,
            FailureClass::Transient | FailureClass::RateLimited | FailureClass::CircuitOpen
        )
    }

    /// The owner of the exception this class ends in when the handler names none.
    pub fn default_owner(&self) -> OwnerTeam {
        match self {
            FailureClass::Data => OwnerTeam::Ops,
            _ => OwnerTeam::Engineering,
        }
    }

    /// The exception type used when the handler names none.
    pub fn default_exception_type(&self) -> &'static str {
        match self {
            FailureClass::Transient | FailureClass::CircuitOpen => "retries_exhausted",
            FailureClass::RateLimited => "rate_limited_too_long",
            FailureClass::Auth => "credentials_refused",
            FailureClass::Data => "invalid_data",
            FailureClass::Duplicate => "duplicate",
            FailureClass::TooLarge => "payload_too_large",
        }
    }

    pub fn default_fix_hint(&self) -> &'static str {
        match self {
            FailureClass::Transient | FailureClass::CircuitOpen => {
                "The other system kept failing. Check its status page, then resubmit."
            }
            FailureClass::RateLimited => {
                "The other system kept refusing for rate limits. Check which integration uses the \
                 shared budget, then resubmit."
            }
            FailureClass::Auth => {
                "The credentials in seam.toml were refused. Renew the token or key, restart, then \
                 resubmit."
            }
            FailureClass::Data => "Correct the record or the mapping it needs, then resubmit.",
            FailureClass::Duplicate => "Nothing to do: the effect had already happened.",
            FailureClass::TooLarge => {
                "The request exceeded the other system's size limit. Split it, then resubmit."
            }
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure, as a connector or handler reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub class: FailureClass,
    /// What went wrong, with the vendor's own message where there is one.
    pub message: String,
    /// The vendor's Retry-After, for rate limits.
    #[serde(with = "opt_duration_ms")]
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn new(class: FailureClass, message: impl Into<String>) -> Self {
        Failure {
            class,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn transient(message: impl Into<String>) -> Self {
        Failure::new(FailureClass::Transient, message)
    }
    pub fn data(message: impl Into<String>) -> Self {
        Failure::new(FailureClass::Data, message)
    }
    /// A call refused by the connector's open circuit: retried after
    /// `retry_after` (what remains of the open period), not counted.
    pub fn circuit_open(message: impl Into<String>, retry_after: Duration) -> Self {
        Failure {
            class: FailureClass::CircuitOpen,
            message: message.into(),
            retry_after: Some(retry_after),
        }
    }
    pub fn rate_limited(message: impl Into<String>, retry_after: Option<Duration>) -> Self {
        Failure {
            class: FailureClass::RateLimited,
            message: message.into(),
            retry_after,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

impl std::error::Error for Failure {}

mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
