//! Tests of config parsing.
