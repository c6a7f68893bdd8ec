//! The centra connector (being written).
