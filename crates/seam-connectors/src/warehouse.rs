//! The warehouse connector (being written).
