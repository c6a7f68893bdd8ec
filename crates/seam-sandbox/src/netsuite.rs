//! placeholder: the netsuite simulator.
