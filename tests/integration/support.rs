//! Test fixtures shared by the integration tests.

// Not every test module uses every helper.
#![allow(dead_code)]

pub mod dovecot;
pub mod imap_client;
pub mod tmux;
