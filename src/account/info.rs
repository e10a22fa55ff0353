//! `--info`: what OfflineIMAP's `serverdiagnostics` reports, for each
//! account this run would sync: the repositories, the server's address,
//! TLS and capabilities, the folder rules and both folder lists with what
//! `nametrans` and `folderfilter` make of each name. Nothing is synced or
//! written; passwords are only used to log in, never shown.
//!
//! The report goes to standard output (OfflineIMAP logs it through its
//! `ttyui`, on standard error), so that it can be paged or saved.

use std::fmt::Write as _;
use std::time::Duration;

use super::folders::{self, Described};
use crate::config::{self, FolderRules, Tls};
use crate::imap::ImapSession;
use crate::maildir::MaildirRepository;

/// The report of every account of `cfg`. OfflineIMAP exits 0 after it,
/// even when a server cannot be reached (the report says so).
pub async fn report(cfg: &config::Config) -> String {
    let mut out = format!(
        "offlineimap v{}, configuration {}\n",
        env!("CARGO_PKG_VERSION"),
        cfg.path.display()
    );
    for account in &cfg.accounts {
        out.push('\n');
        out.push_str(&account_report(account, cfg.general.socktimeout).await);
    }
    out
}

/// The report of one account: its remote repository (after connecting),
/// then its local one.
pub async fn account_report(account: &config::Account, socktimeout: Option<Duration>) -> String {
    let mut out = format!("Account '{}'\n", account.name);
    let remote = &account.remote;
    let sel = &account.folders;
    let python = sel.python.as_deref();
    let _ = writeln!(
        out,
        "Remote repository '{}': type 'IMAP'",
        remote.common.name
    );
    let _ = writeln!(
        out,
        "Host: {} Port: {} SSL: {}",
        remote.host,
        remote.port,
        tls_text(remote.tls)
    );
    let listed = match ImapSession::connect(remote, socktimeout, None).await {
        Err(e) => {
            let _ = writeln!(out, "Failed to connect. Reason: {e}");
            None
        }
        Ok(mut session) => {
            if session.has_capability("ID") {
                out.push_str("Server supports ID extension.\n");
            }
            let _ = writeln!(
                out,
                "Server capabilities: {}",
                session.capabilities().join(" ")
            );
            let listed = session
                .list_folders_with(sel.subscribedonly, sel.reference.as_deref())
                .await;
            session.logout().await;
            match listed {
                Ok(l) => Some(l),
                Err(e) => {
                    let _ = writeln!(out, "Cannot list folders: {e}");
                    None
                }
            }
        }
    };
    rules_lines(&mut out, &sel.remote);
    if let Some(listed) = listed {
        let delimiter = listed.iter().find_map(|f| f.delimiter).unwrap_or('/');
        // The names as the rules see them, as a sync does; then the
        // `folderincludes` the server did not list.
        let mut names: Vec<String> = listed
            .iter()
            .filter(|f| !f.noselect)
            .map(|f| {
                if sel.utf8foldernames {
                    f.name_utf8.clone()
                } else {
                    f.raw_name.clone()
                }
            })
            .collect();
        for include in &sel.remote.folderincludes {
            if !names.contains(include) {
                names.push(include.clone());
            }
        }
        names.sort_by_key(|n| n.to_lowercase());
        let described = folders::describe(&names, &sel.remote, delimiter, python);
        folder_list(&mut out, &described);
    }

    let local = &account.local;
    let _ = writeln!(
        out,
        "\nLocal repository '{}': type 'Maildir'",
        local.common.name
    );
    let _ = writeln!(
        out,
        "Path: {} Separator: {}",
        local.localfolders.display(),
        local.sep
    );
    rules_lines(&mut out, &sel.local);
    let repo = MaildirRepository::new(local, false);
    if !repo.root().is_dir() {
        out.push_str("The folder does not exist yet (a sync creates it).\n");
    } else {
        match repo.list_folders() {
            Ok(names) => {
                let described = folders::describe(&names, &sel.local, local.sep, python);
                folder_list(&mut out, &described);
            }
            Err(e) => {
                let _ = writeln!(out, "Cannot list folders: {e}");
            }
        }
    }
    out
}

fn tls_text(tls: Tls) -> &'static str {
    match tls {
        Tls::Implicit => "yes",
        Tls::StartTls => "no (STARTTLS required)",
        Tls::None => "no (plain text)",
    }
}

/// `folderfilter= ...`, `folderincludes= ...`, `nametrans= ...` for the
/// rules that are set, as OfflineIMAP lists them.
fn rules_lines(out: &mut String, rules: &FolderRules) {
    if let Some(f) = &rules.folderfilter {
        let _ = writeln!(out, "folderfilter= {}", f.source());
    }
    if !rules.folderincludes.is_empty() {
        let _ = writeln!(out, "folderincludes= {:?}", rules.folderincludes);
    }
    if let Some(t) = &rules.nametrans {
        let _ = writeln!(out, "nametrans= {}", t.source());
    }
}

/// `Folderlist:` then one line per folder: ` name`, ` name -> visible`
/// when `nametrans` changes it, and ` (disabled)` when `folderfilter`
/// leaves it out.
pub fn folder_list(out: &mut String, folders: &[Described]) {
    out.push_str("Folderlist:\n");
    for d in folders {
        let mut line = format!(" {}", d.name);
        match &d.visible {
            Ok(v) if *v == d.name => {}
            Ok(v) => {
                let _ = write!(line, " -> {v}");
            }
            Err(e) => {
                let _ = write!(line, " (nametrans failed: {e})");
            }
        }
        match &d.keep {
            Ok(true) => {}
            Ok(false) => line.push_str(" (disabled)"),
            Err(e) => {
                let _ = write!(line, " (folderfilter failed: {e})");
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_list_marks_renamed_and_disabled_folders() {
        let d = |name: &str, visible: Result<&str, &str>, keep: Result<bool, &str>| Described {
            name: name.to_owned(),
            visible: visible.map(str::to_owned).map_err(str::to_owned),
            keep: keep.map_err(str::to_owned),
        };
        let mut out = String::new();
        folder_list(
            &mut out,
            &[
                d("INBOX", Ok("INBOX"), Ok(true)),
                d("Sent Items", Ok("sent"), Ok(true)),
                d("Trash", Ok("Trash"), Ok(false)),
                d("Spam", Err("boom"), Err("bang")),
            ],
        );
        assert_eq!(
            out,
            "Folderlist:\n INBOX\n Sent Items -> sent\n Trash (disabled)\n \
             Spam (nametrans failed: boom) (folderfilter failed: bang)\n"
        );
    }

    #[test]
    fn tls_is_described_without_guessing() {
        assert_eq!(tls_text(Tls::Implicit), "yes");
        assert!(tls_text(Tls::StartTls).contains("STARTTLS"));
        assert!(tls_text(Tls::None).contains("plain"));
    }
}
