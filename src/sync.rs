//! The sync engine: decides what to do for one folder pair from three lists
//! (remote, local, status) and carries the decision out through the
//! [`store::Store`] trait.
//!
//! `plan` is pure (no I/O, no clock, no tokio); `apply` is the only part that
//! talks to stores. The engine never names a backend: IMAP and Maildir plug
//! in from outside.

pub mod apply;
pub mod chunk;
pub mod delta;
pub mod dryrun;
pub mod filter;
pub mod headers;
pub mod labels;
pub mod memory;
pub mod model;
pub mod plan;
pub mod store;
pub mod window;

#[cfg(test)]
mod tests;
