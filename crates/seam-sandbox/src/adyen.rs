//! placeholder: the adyen simulator.
