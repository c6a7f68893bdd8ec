//! Money: an exact decimal amount in one currency.
//!
//! Amounts are `rust_decimal::Decimal`, never floats. Every amount that
//! leaves Seam is a whole number of the currency's minor unit; arithmetic
//! across currencies is an error, not a conversion.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency code such as `EUR`, with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurrencyError {
    #[error("'{0}' is not a three-letter ISO 4217 currency code")]
    Malformed(String),
}

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const SEK: Currency = Currency(*b"SEK");
    pub const GBP: Currency = Currency(*b"GBP");
    pub const USD: Currency = Currency(*b"USD");

    pub fn code(&self) -> &str {
        // Constructed only from ASCII uppercase letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Digits after the decimal point of the currency's minor unit (ISO 4217).
    /// Currencies not listed here have two, which is the ISO default for most.
    pub fn minor_unit_digits(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"ISK" | b"CLP" | b"VND" | b"UGX" | b"XAF" | b"XOF" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"IQD" | b"LYD" => 3,
            _ => 2,
        }
    }

    /// The size of one minor unit, e.g. 0.01 for EUR.
    pub fn minor_unit(&self) -> Decimal {
        Decimal::new(1, self.minor_unit_digits())
    }
}

impl FromStr for Currency {
    type Err = CurrencyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = s.trim().as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(|b| b.is_ascii_alphabetic()) {
            return Err(CurrencyError::Malformed(s.to_string()));
        }
        let mut code = [0u8; 3];
        for (slot, b) in code.iter_mut().zip(bytes) {
            *slot = b.to_ascii_uppercase();
        }
        Ok(Currency(code))
    }
}

impl TryFrom<String> for Currency {
    type Error = CurrencyError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.code().to_string()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An exact amount of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch { left: Currency, right: Currency },
    #[error("{amount} {currency} is not a whole number of minor units")]
    NotMinorUnits { amount: Decimal, currency: Currency },
    #[error("amount overflow")]
    Overflow,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money {
            amount: Decimal::ZERO,
            currency,
        }
    }

    /// Builds money from an integer count of minor units (e.g. cents), as PSPs send it.
    pub fn from_minor_units(units: i64, currency: Currency) -> Self {
        Money {
            amount: Decimal::new(units, currency.minor_unit_digits()),
            currency,
        }
    }

    /// The amount as an integer count of minor units; fails unless it is exact.
    pub fn to_minor_units(&self) -> Result<i64, MoneyError> {
        let scaled = self.amount * Decimal::from(10i64.pow(self.currency.minor_unit_digits()));
        if scaled.fract() != Decimal::ZERO {
            return Err(MoneyError::NotMinorUnits {
                amount: self.amount,
                currency: self.currency,
            });
        }
        i64::try_from(scaled).map_err(|_| MoneyError::Overflow)
    }

    pub fn is_whole_minor_units(&self) -> bool {
        self.to_minor_units().is_ok()
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_add(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let amount = self
            .amount
            .checked_sub(other.amount)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            amount,
            currency: self.currency,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_unit_digits();
        write!(
            f,
            "{} {}",
            self.amount.round_dp(digits.max(self.amount.scale())),
            self.currency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn currency_codes_are_normalised_and_validated() {
        assert_eq!("eur".parse::<Currency>().unwrap(), Currency::EUR);
        assert!("EURO".parse::<Currency>().is_err());
        assert!("E1R".parse::<Currency>().is_err());
        assert_eq!("JPY".parse::<Currency>().unwrap().minor_unit_digits(), 0);
    }

    #[test]
    fn minor_units_round_trip_and_refuse_fractions() {
        let m = Money::from_minor_units(2499, Currency::EUR);
        assert_eq!(m.amount, dec!(24.99));
        assert_eq!(m.to_minor_units().unwrap(), 2499);
        let bad = Money::new(dec!(1.005), Currency::EUR);
        assert!(matches!(
            bad.to_minor_units(),
            Err(MoneyError::NotMinorUnits { .. })
        ));
    }

    #[test]
    fn arithmetic_across_currencies_is_refused() {
        let a = Money::new(dec!(1), Currency::EUR);
        let b = Money::new(dec!(1), Currency::SEK);
        assert!(matches!(
            a.checked_add(&b),
            Err(MoneyError::CurrencyMismatch { .. })
        ));
    }
}
