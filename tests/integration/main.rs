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
// The real binary end to end against a private Dovecot.
mod sync_dovecot;
// Blinkenlights in a real terminal (tmux) against Dovecot.
mod ui_tmux;
// Line UIs (machineui, quiet) and the -l / -s outputs through the binary.
mod ui_lines;
// OfflineIMAP's signals on a running autorefresh loop.
mod signals;
// Password prompts (Blinkenlights, ttyui, machineui, basic) and the second q.
mod prompt;
// The Python expression evaluator against real python3.
mod expr_python;
// SIGKILL at many points of the passes; nothing lost or duplicated.
mod crash;
// Real-world configs (Gmail, Office 365, Fastmail, the manual's examples)
// against Dovecot: which folders sync under which names.
mod realworld;
// Passwords and users from remotepasseval/pythonfile, netrc and -k.
mod credentials;
// folderfilter/nametrans from a pythonfile through one python3 per run.
mod pythonfile;
// CONDSTORE: an unchanged server folder is not listed again.
mod condstore;
// presynchook and postsynchook around real syncs.
mod hooks;
// The system keyring against a real Secret Service (gnome-keyring on a
// private D-Bus session bus).
mod keyring;
// utf8foldernames: UTF-8 Maildir and status names, offlineimap3's included.
mod utf8names;
// -d: the IMAP trace (secrets hidden), maildir and thread debug lines.
mod debuglog;
// maxage, maxsize and startdate: the sync window against Dovecot.
mod maxage;
// --dry-run, --info and -q through the binary.
mod dryrun;
// newmail_hook, filterheaders and copy_ignore_eval against Dovecot.
mod copyopts;
// A folder larger than one UID range, synced range by range.
mod chunked;
// utime_from_header, filename_use_mail_timestamp and restoreatime on disk.
mod maildiropts;
// cert_fingerprint pinning (self-signed certificates) and its CA interplay.
mod tlsopts;
// preauthtunnel (Dovecot's imap binary) and transporttunnel (a relay).
mod tunnel;
// [mbnames]: the mailbox list file (mutt) of two accounts against Dovecot.
mod mbnames;
// A folder whose connection breaks is tried again (retrycount).
mod retry;
// sslclientcert, usecompression and proxy against Dovecot.
mod transport;
// idlefolders, holdconnectionopen and keepalive between autorefresh syncs.
mod idle;
// type = Gmail and type = GmailMaildir against Dovecot.
mod gmail;
// synclabels against a scripted X-GM-EXT-1 server (Dovecot has none).
mod gmail_labels;
// customflag_x, --delete-folder, --migrate-fmd5-using-nametrans, -P,
// dynamic_folderfilter.
mod cliflags;
// OAuth2 (XOAUTH2 against Dovecot's oauth2 passdb) and remote_identity.
mod oauth2;
// A folder the server opens read-only, and ignore-readonly.
mod readonly;
// Bodies in pieces from a scripted server that lists wrong sizes or
// ignores partial FETCH ranges (Dovecot does neither).
mod pieces;
