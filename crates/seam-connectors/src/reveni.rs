//! The reveni connector (being written).
