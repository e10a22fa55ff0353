//! Tests of the mailbox list: rendering, filtering, sorting, the JSON
//! files and the writer.

#![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

use std::path::{Path, PathBuf};

use super::*;
use crate::config::{Expr, Mbnames};

/// The usual mutt configuration, with `header`/`sep`/`footer` already
/// evaluated as the configuration reader gives them.
fn mutt() -> Mbnames {
    Mbnames {
        filename: PathBuf::from("/nonexistent/mailboxes"),
        header: "mailboxes ".to_owned(),
        peritem: "+%(accountname)s/%(foldername)s".to_owned(),
        sep: " ".to_owned(),
        footer: "\n".to_owned(),
        incremental: false,
        folderfilter: None,
        sort_keyfunc: None,
        python: None,
    }
}

fn builtin(option: &str, source: &str) -> Option<Expr> {
    Some(Expr::builtin(option, crate::expr::compile(source).unwrap()))
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn two_accounts(cfg: &Mbnames) -> Vec<Item> {
    let mut items = account_items(
        cfg,
        "Work",
        "/home/u/Mail/Work",
        &names(&["INBOX", "Sent", "Archive.2020"]),
    )
    .unwrap();
    items.extend(
        account_items(
            cfg,
            "Home",
            "/home/u/Mail/Home",
            &names(&["INBOX", "Lists.rust"]),
        )
        .unwrap(),
    );
    items
}

#[test]
fn the_mutt_example_with_two_accounts() {
    let cfg = mutt();
    let text = render(&cfg, two_accounts(&cfg)).unwrap();
    assert_eq!(
        text,
        "mailboxes +Home/INBOX +Home/Lists.rust +Work/Archive.2020 +Work/INBOX +Work/Sent\n"
    );
}

#[test]
fn one_account_renders_alone() {
    let text = render_account(&mutt(), "A", "/m", &names(&["b", "a", "b"])).unwrap();
    assert_eq!(text, "mailboxes +A/a +A/b\n");
}

#[test]
fn no_folders_leaves_header_and_footer() {
    assert_eq!(render(&mutt(), Vec::new()).unwrap(), "mailboxes \n");
}

#[test]
fn folderfilter_sees_account_and_folder() {
    let cfg = Mbnames {
        folderfilter: builtin(
            "folderfilter",
            "lambda accountname, foldername: accountname == 'Home' or not re.search('^Arch', foldername)",
        ),
        ..mutt()
    };
    let text = render(&cfg, two_accounts(&cfg)).unwrap();
    assert_eq!(
        text,
        "mailboxes +Home/INBOX +Home/Lists.rust +Work/INBOX +Work/Sent\n"
    );
}

#[test]
fn sort_keyfunc_orders_the_items() {
    let cfg = Mbnames {
        sort_keyfunc: builtin(
            "sort_keyfunc",
            "lambda d: (d['foldername'] != 'INBOX', d['foldername'].lower(), d['accountname'])",
        ),
        ..mutt()
    };
    let text = render(&cfg, two_accounts(&cfg)).unwrap();
    assert_eq!(
        text,
        "mailboxes +Home/INBOX +Work/INBOX +Work/Archive.2020 +Home/Lists.rust +Work/Sent\n"
    );
}

#[test]
fn sort_keyfunc_is_stable_and_reports_bad_keys() {
    let cfg = Mbnames {
        sort_keyfunc: builtin("sort_keyfunc", "lambda d: 0"),
        ..mutt()
    };
    let items = account_items(&cfg, "A", "/m", &names(&["z", "a", "m"])).unwrap();
    assert_eq!(
        render(&cfg, items.clone()).unwrap(),
        "mailboxes +A/z +A/a +A/m\n"
    );

    let cfg = Mbnames {
        sort_keyfunc: builtin(
            "sort_keyfunc",
            "lambda d: 1 if d['foldername'] == 'a' else 'x'",
        ),
        ..mutt()
    };
    let e = render(&cfg, items).unwrap_err().to_string();
    assert!(
        e.starts_with("[mbnames] sort_keyfunc: cannot compare"),
        "{e}"
    );
}

#[test]
fn peritem_gets_localfolders_and_python_formatting() {
    let cfg = Mbnames {
        header: String::new(),
        peritem: "%(localfolders)s/%(foldername)-6s|%%".to_owned(),
        sep: "\n".to_owned(),
        footer: String::new(),
        ..mutt()
    };
    let text = render_account(&cfg, "A", "/m", &names(&["INBOX", "x"])).unwrap();
    assert_eq!(text, "/m/INBOX |%\n/m/x     |%");
}

#[test]
fn expressions_as_the_reader_evaluates_them() {
    // header/sep/footer come evaluated from the configuration; this
    // checks the evaluation the reader relies on for escapes.
    let eval = |s: &str| {
        crate::expr::compile(s)
            .unwrap()
            .eval(&crate::expr::Env::new())
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let cfg = Mbnames {
        header: eval(r##""# mutt\nmailboxes \\\n\t""##),
        sep: eval(r#"' \\\n\t'"#),
        footer: eval(r#""\n" * 2"#),
        ..mutt()
    };
    let text = render_account(&cfg, "A", "/m", &names(&["a", "b"])).unwrap();
    assert_eq!(text, "# mutt\nmailboxes \\\n\t+A/a \\\n\t+A/b\n\n");
}

#[test]
fn bad_peritem_key_is_an_error() {
    let cfg = Mbnames {
        peritem: "%(account)s".to_owned(),
        ..mutt()
    };
    let e = render_account(&cfg, "A", "/m", &names(&["a"]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("[mbnames] peritem:"), "{e}");
}

#[test]
fn json_matches_python() {
    let items = vec![
        Item {
            accountname: "Work".to_owned(),
            foldername: "INBOX".to_owned(),
            localfolders: "/home/u/Mail".to_owned(),
        },
        Item {
            accountname: "Work".to_owned(),
            foldername: "Ünïcode \"q\"\\ 😀".to_owned(),
            localfolders: "/home/u/Mail".to_owned(),
        },
    ];
    // What `json.dump(itemlist, f)` writes for these.
    let python = r#"[{"accountname": "Work", "foldername": "INBOX", "localfolders": "/home/u/Mail"}, {"accountname": "Work", "foldername": "\u00dcn\u00efcode \"q\"\\ \ud83d\ude00", "localfolders": "/home/u/Mail"}]"#;
    assert_eq!(json::encode_items(&items), python);
    assert_eq!(json::decode_items(python).unwrap(), items);
    assert_eq!(json::encode_items(&[]), "[]");
    assert_eq!(json::decode_items(" [ ]\n").unwrap(), Vec::new());
    let spaced = "[\n {\"localfolders\":\"/m\",\"extra\":1,\"foldername\":\"a\\/b\",\"accountname\":\"A\"}\n]";
    assert_eq!(
        json::decode_items(spaced).unwrap(),
        vec![Item {
            accountname: "A".to_owned(),
            foldername: "a/b".to_owned(),
            localfolders: "/m".to_owned(),
        }]
    );
    for bad in [
        "",
        "{}",
        "[1]",
        "[{\"accountname\": \"A\"}]",
        "[\"x\"",
        "[] x",
    ] {
        assert!(json::decode_items(bad).is_err(), "{bad}");
    }
}

#[test]
fn files_are_written_from_every_account_list() {
    let dir = tempfile::tempdir().unwrap();
    let metadata = dir.path().join("meta");
    let cfg = Mbnames {
        filename: dir.path().join("out/mailboxes"),
        incremental: true,
        ..mutt()
    };
    let skipped = account_synced(&cfg, &metadata, "Work", "/w", &names(&["INBOX"])).unwrap();
    assert!(skipped.is_empty());
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(read(&cfg.filename), "mailboxes +Work/INBOX\n");
    assert_eq!(
        read(&metadata.join("mbnames/Work.json")),
        r#"[{"accountname": "Work", "foldername": "INBOX", "localfolders": "/w"}]"#
    );

    // Not incremental: only the account's list changes...
    let cfg = Mbnames {
        incremental: false,
        ..cfg
    };
    account_synced(&cfg, &metadata, "Home", "/h", &names(&["INBOX", "x"])).unwrap();
    assert_eq!(read(&cfg.filename), "mailboxes +Work/INBOX\n");
    // ... until the end of the run; a broken list is left out and told.
    std::fs::write(metadata.join("mbnames/Broken.json"), "[{").unwrap();
    std::fs::write(metadata.join("mbnames/notes.txt"), "ignored").unwrap();
    let skipped = write_file(&cfg, &metadata).unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(skipped[0].to_string().contains("Broken.json"));
    assert_eq!(
        read(&cfg.filename),
        "mailboxes +Home/INBOX +Home/x +Work/INBOX\n"
    );
    // No temporary file is left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["mailboxes"]);
}

#[test]
fn unwritable_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let e = write_atomically(&blocker.join("mailboxes"), "x")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("mbnames: "), "{e}");
    assert!(e.contains("file"), "{e}");
}

#[test]
fn python_evaluates_what_is_left_to_it() {
    let Some(program) =
        crate::pyeval::find_in_path("python3", std::env::var("PATH").ok().as_deref())
    else {
        panic!("python3 is needed for this test");
    };
    let python = std::sync::Arc::new(crate::pyeval::Python::with_program(Some(program), None));
    let py = |option: &str, source: &str| {
        Some(Expr {
            option: option.to_owned(),
            eval: crate::config::Evaluator::Python(source.to_owned()),
        })
    };
    let cfg = Mbnames {
        folderfilter: py("folderfilter", "lambda a, f: f != 'Sent'"),
        sort_keyfunc: py("sort_keyfunc", "lambda d: d['foldername'][::-1]"),
        python: Some(python),
        ..mutt()
    };
    let text = render(&cfg, two_accounts(&cfg)).unwrap();
    assert_eq!(
        text,
        "mailboxes +Work/Archive.2020 +Work/INBOX +Home/INBOX +Home/Lists.rust\n"
    );
}

#[test]
fn prune_removes_lists_of_other_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let meta = dir.path();
    for a in ["Work", "Old", "Home"] {
        write_intermediate(meta, a, &[]).unwrap();
    }
    std::fs::write(meta.join("mbnames/notes.txt"), "").unwrap();
    let (would, _) = prune(meta, &names(&["Work", "Home"]), true);
    assert_eq!(would, [meta.join("mbnames/Old.json")]);
    assert!(would[0].exists());
    let (removed, errors) = prune(meta, &names(&["Work", "Home"]), false);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(removed, [meta.join("mbnames/Old.json")]);
    let (removed, _) = prune(meta, &[], false);
    assert_eq!(
        removed,
        [
            meta.join("mbnames/Home.json"),
            meta.join("mbnames/Work.json")
        ]
    );
    assert!(meta.join("mbnames/notes.txt").exists());
    assert_eq!(
        prune(&meta.join("none"), &[], false),
        (Vec::new(), Vec::new())
    );
}
