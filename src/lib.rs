//! offlineimap: two-way IMAP <-> Maildir synchronisation, compatible with
//! OfflineIMAP's configuration, command line and on-disk formats.
//!
//! Dependency rule (enforced by `tests/integration/architecture.rs`, see
//! docs/architecture.md): `sync` and `event` depend on nothing else in the
//! crate; backends (`imap`, `maildir`, `status`) depend only on `sync` and
//! `config`; `ui` depends only on `event` and `config`; `account` wires
//! backends to the engine; `app` wires everything.

pub mod account;
pub mod app;
pub mod cli;
pub mod config;
pub mod event;
pub mod expr;
pub mod imap;
pub mod maildir;
pub mod mbnames;
pub mod pyeval;
pub mod signals;
pub mod status;
pub mod sync;
pub mod ui;
