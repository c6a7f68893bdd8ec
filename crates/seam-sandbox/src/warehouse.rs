//! placeholder: the warehouse simulator.
