//! Unit tests for the expression evaluator, one group per construct.
