//! The PromQL evaluator: instant and range evaluation of the float language over the
//! promql-parser AST, against any storage that implements the series-source trait.
