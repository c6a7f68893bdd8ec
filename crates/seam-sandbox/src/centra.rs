//! placeholder: the centra simulator.
