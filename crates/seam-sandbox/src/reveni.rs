//! placeholder: the reveni simulator.
