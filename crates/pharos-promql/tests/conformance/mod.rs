//! The promqltest conformance runner: script parsing, execution and comparison.

pub mod baseline;
pub mod compare;
pub mod runner;
pub mod script;
