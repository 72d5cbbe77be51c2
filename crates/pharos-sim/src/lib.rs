//! The built-in AI-platform simulator.
