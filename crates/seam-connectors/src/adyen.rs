//! The adyen connector (being written).
