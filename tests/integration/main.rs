#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One integration test binary (see docs/architecture.md): shared
//! fixtures start once, linking is paid once.

// The private Dovecot and a raw IMAP client that do not use our code.
mod support;
// The IMAP backend against a real Dovecot.
mod imap;
// The dependency rule of docs/architecture.md, checked on src/.
mod architecture;
// Running the real binary against a private Dovecot.
mod harness;
// SIGKILL at many points of the passes; nothing lost or duplicated.
mod crash;
