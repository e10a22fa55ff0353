//! Tests of the folder-selection options: expressions compiled at load
//! time, `folderincludes` evaluated, `-f`, `subscribedonly`, `reference`.

use std::path::Path;

use super::*;
use crate::expr::{Env, Value};

const FILE: &str = "/home/test/.offlineimaprc";

fn conf(local: &str, remote: &str) -> String {
    format!(
        "[general]\naccounts = Work\n\
         [Account Work]\nlocalrepository = WorkLocal\nremoterepository = WorkRemote\n\
         [Repository WorkLocal]\ntype = Maildir\nlocalfolders = ~/Mail\n{local}\n\
         [Repository WorkRemote]\ntype = IMAP\nremotehost = imap.example.org\n{remote}\n"
    )
}

fn parse_with(text: &str, o: &Overrides) -> Result<Config, Error> {
    parse(text, Path::new(FILE), o, &|n| {
        (n == "HOME").then(|| "/home/test".to_owned())
    })
}

fn folders(text: &str) -> Folders {
    match parse_with(text, &Overrides::default()) {
        Ok(c) => c.accounts[0].folders.clone(),
        Err(e) => panic!("{e}"),
    }
}

fn call(e: &Option<Expr>, args: &[&str]) -> Value {
    let args: Vec<Value> = args.iter().map(|a| Value::Str(a.to_string())).collect();
    match &e.as_ref().unwrap().eval {
        crate::config::Evaluator::Builtin(x) => x.call(&Env::offlineimap(), &args).unwrap(),
        crate::config::Evaluator::Python(s) => panic!("not built-in: {s}"),
    }
}

#[test]
fn defaults_select_everything() {
    let f = folders(&conf("", ""));
    assert!(f.local.folderfilter.is_none() && f.remote.folderfilter.is_none());
    assert!(f.local.nametrans.is_none() && f.remote.nametrans.is_none());
    assert!(f.remote.folderincludes.is_empty());
    assert!(f.remote.foldersort.is_none());
    assert!(!f.subscribedonly);
    assert_eq!(f.reference, None);
    assert_eq!(f.remote.section, "Repository WorkRemote");
}

#[test]
fn expressions_are_compiled_and_includes_evaluated() {
    let f = folders(&conf(
        "nametrans = lambda f: '[Gmail]/' + f if f in ['Sent Mail',\n    'Drafts'] else f",
        "folderfilter = lambda f: f not in ['Junk']\n\
         nametrans = lambda f: re.sub('^\\[Gmail\\]/', '', f)\n\
         folderincludes = ['Archive/' + y for y in ['2023', '2024']]\n\
         foldersort = lambda a, b: cmp(b, a)\n\
         subscribedonly = yes\nreference = Mail",
    ));
    assert_eq!(
        call(&f.local.nametrans, &["Drafts"]).as_str(),
        Some("[Gmail]/Drafts")
    );
    assert!(!call(&f.remote.folderfilter, &["Junk"]).truthy());
    assert_eq!(
        call(&f.remote.nametrans, &["[Gmail]/Sent Mail"]).as_str(),
        Some("Sent Mail")
    );
    assert_eq!(f.remote.folderincludes, ["Archive/2023", "Archive/2024"]);
    assert_eq!(call(&f.remote.foldersort, &["a", "b"]).as_int(), Some(1));
    assert_eq!(
        f.remote.folderfilter.as_ref().unwrap().option,
        "folderfilter"
    );
    assert!(f.subscribedonly);
    assert_eq!(f.reference.as_deref(), Some("Mail"));
}

#[test]
fn a_bad_lambda_is_a_load_error_with_a_caret() {
    let e = parse_with(
        &conf("", "folderfilter = lambda f: f in ['INBOX'"),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Invalid);
    let text = e.to_string();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!(
            "{FILE}: [Repository WorkRemote] folderfilter: SyntaxError:"
        )),
        "{text}"
    );
    assert!(text.contains("\n  lambda f: f in ['INBOX'\n"), "{text}");
    assert!(text.trim_end().ends_with('^'), "{text}");
}

#[test]
fn folderincludes_must_be_a_list_of_strings() {
    for (value, want) in [
        ("'INBOX'", "expected a list of folder names, got str"),
        ("[1]", "expected a list of folder names, but it holds 1"),
        ("[x]", "NameError: name 'x' is not defined"),
    ] {
        let e = parse_with(
            &conf("", &format!("folderincludes = {value}")),
            &Overrides::default(),
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with(&format!(
                "{FILE}: [Repository WorkRemote] folderincludes: {want}"
            )),
            "{text}"
        );
    }
}

#[test]
fn dash_f_replaces_the_remote_filter_and_empties_includes() {
    let text = conf(
        "folderfilter = lambda f: False",
        "folderfilter = lambda f: False\nfolderincludes = ['Archive']",
    );
    let o = Overrides {
        folders: Some(vec!["INBOX".into(), "it's \"odd\"".into()]),
        ..Overrides::default()
    };
    let c = parse_with(&text, &o).unwrap();
    let f = &c.accounts[0].folders;
    assert!(f.remote.folderincludes.is_empty());
    assert_eq!(f.remote.folderfilter.as_ref().unwrap().option, "-f");
    assert!(call(&f.remote.folderfilter, &["INBOX"]).truthy());
    assert!(call(&f.remote.folderfilter, &["it's \"odd\""]).truthy());
    assert!(!call(&f.remote.folderfilter, &["Archive"]).truthy());
    // The local side keeps its own filter.
    assert!(!call(&f.local.folderfilter, &["INBOX"]).truthy());
}

#[test]
fn offlineimaps_quoted_empty_reference_means_none() {
    let f = folders(&conf("", "reference = \"\""));
    assert_eq!(f.reference, None);
}
