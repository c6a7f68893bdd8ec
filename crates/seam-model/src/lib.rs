//! Seam's canonical commerce model and its pure rules.
//!
//! Nothing in this crate does I/O or is async: money and its allocation,
//! the teams that own exceptions, and (as flows land) orders, stock and
//! returns. It is where a reader of the code base starts, and where most
//! of the property tests live.

pub mod allocation;
pub mod mapping;
pub mod money;
pub mod order;
pub mod product;
pub mod returns;
pub mod stock;
pub mod team;

pub use allocation::{allocate_proportionally, AllocationError};
pub use money::{Currency, CurrencyError, Money, MoneyError};
pub use team::OwnerTeam;
