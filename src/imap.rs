//! The IMAP backend: connecting (TLS always verified), logging in, listing
//! and creating folders, and a selected folder as a
//! [`crate::sync::store::Store`].
//!
//! Built on async-imap's connection and response parser; commands are
//! sent and their responses read by our own loop in `session`, so that
//! server text reaches error messages intact and no untagged response is
//! lost. Depends only on `sync` and `config`.

mod auth;
mod capsniff;
mod compress;
mod connect;
mod error;
mod folder;
pub mod keywords;
mod proxy;
mod session;
mod trace;
mod tunnel;
pub mod utf7;
mod wire;

pub use connect::{DEFAULT_CONNECT_TIMEOUT, ImapStream};
pub use error::{Error, ErrorKind};
pub use folder::{FolderOptions, ImapFolder, PIECE, Settled};
pub use session::{FolderStatus, Idling, ImapSession, Known, RemoteFolder, SelectError};
pub use trace::TraceSink;
