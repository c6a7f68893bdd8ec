//! The netsuite connector (being written).
