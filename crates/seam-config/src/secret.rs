//! Secrets: values read from `${ENV_VAR}` references, never printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A resolved secret. `Debug` and `Display` print `[redacted]`; only
/// `expose` gives the value, at the one place that sends it.
#[derive(Clone)]
pub struct Secret {
    value: SecretString,
    /// The reference as written (`${CENTRA_TOKEN}`), safe to show.
    pub reference: String,
}

impl Secret {
    pub fn new(value: String, reference: String) -> Self {
        Secret {
            value: SecretString::from(value),
            reference,
        }
    }

    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} = [redacted])", self.reference)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Replaces every `${NAME}` in `raw` with the variable's value. Returns the
/// names that are not set, so each can be reported at its key.
pub(crate) fn expand(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(raw.len());
    let mut missing = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        match env(name) {
            Some(value) => out.push_str(&value),
            None => missing.push(name.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}
