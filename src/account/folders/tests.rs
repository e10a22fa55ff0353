use super::*;

fn r(name: &str) -> RemoteName {
    RemoteName {
        name: name.into(),
        delimiter: Some('/'),
    }
}

fn e(option: &str, src: &str) -> Option<Expr> {
    Some(Expr::builtin(option, crate::expr::compile(src).unwrap()))
}

fn rules(section: &str) -> FolderRules {
    FolderRules {
        section: section.into(),
        ..FolderRules::default()
    }
}

struct T {
    sep: char,
    local: FolderRules,
    remote: FolderRules,
    create: bool,
    reference: Option<&'static str>,
    python: Option<std::sync::Arc<Python>>,
    utf8: bool,
}

impl T {
    fn new(sep: char) -> T {
        T {
            sep,
            local: rules("Repository L"),
            remote: rules("Repository R"),
            create: true,
            reference: None,
            python: None,
            utf8: false,
        }
    }

    /// With `utf8foldernames = yes`.
    fn utf8(sep: char) -> T {
        T {
            utf8: true,
            ..T::new(sep)
        }
    }

    fn plan(&self, remote: &[&str], local: &[&str]) -> FolderPlan {
        let remote: Vec<RemoteName> = remote.iter().map(|n| r(n)).collect();
        let local: Vec<String> = local.iter().map(|n| n.to_string()).collect();
        plan_folders(
            &remote,
            &local,
            &FolderOptions {
                local_sep: self.sep,
                remote_sep: '/',
                create_local: self.create,
                create_remote: self.create,
                utf8_names: self.utf8,
                local: &self.local,
                remote: &self.remote,
                reference: self.reference,
                python: self.python.as_deref(),
            },
        )
    }
}

fn pairs(p: &FolderPlan) -> Vec<(&str, &str)> {
    p.pairs
        .iter()
        .map(|x| (x.remote.as_str(), x.local.as_str()))
        .collect()
}

#[test]
fn remote_folders_map_to_local_with_sep() {
    let p = T::new('.').plan(&["INBOX", "Archive/2024"], &[]);
    assert_eq!(p.create_local, vec!["INBOX", "Archive.2024"]);
    assert_eq!(
        p.pairs,
        vec![
            FolderPair {
                remote: "Archive/2024".into(),
                remote_name: "Archive/2024".into(),
                local: "Archive.2024".into(),
                local_visible: "Archive.2024".into(),
                status: "Archive.2024".into(),
                remote_visible: "Archive/2024".into(),
            },
            FolderPair {
                remote: "INBOX".into(),
                remote_name: "INBOX".into(),
                local: "INBOX".into(),
                local_visible: "INBOX".into(),
                status: "INBOX".into(),
                remote_visible: "INBOX".into(),
            },
        ]
    );
}

#[test]
fn slash_sep_keeps_nesting_and_status_uses_dots() {
    let p = T::new('/').plan(&["Archive/2024"], &["Archive/2024"]);
    assert!(p.create_local.is_empty());
    assert_eq!(p.pairs[0].status, "Archive.2024");
}

#[test]
fn local_only_folder_is_created_remotely() {
    let p = T::new('.').plan(&["INBOX"], &["INBOX", "Notes.todo"]);
    assert_eq!(
        p.create_remote,
        vec![("Notes/todo".into(), "Notes.todo".into())]
    );
    assert_eq!(p.pairs.len(), 2);
}

#[test]
fn remote_name_with_local_sep_is_skipped() {
    let p = T::new('.').plan(&["a.b"], &[]);
    assert!(p.pairs.is_empty());
    assert!(p.create_local.is_empty());
    assert_eq!(p.skipped.len(), 1);
}

#[test]
fn non_ascii_local_folder_not_created_without_utf8() {
    let p = T::new('.').plan(&[], &["Küche"]);
    assert!(p.create_remote.is_empty());
    assert_eq!(p.skipped.len(), 1);
}

#[test]
fn createfolders_off_skips_instead_of_creating() {
    let mut t = T::new('.');
    t.create = false;
    let p = t.plan(&["INBOX"], &["Drafts"]);
    assert!(p.pairs.is_empty());
    assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
}

#[test]
fn folderfilter_sees_untranslated_names_on_each_side() {
    let mut t = T::new('.');
    t.remote.folderfilter = e("folderfilter", "lambda f: not f.startswith('[Gmail]/Spam')");
    t.remote.nametrans = e("nametrans", "lambda f: f.replace('[Gmail]/', 'G.')");
    t.local.folderfilter = e("folderfilter", "lambda f: f != 'G.Trash'");
    t.local.nametrans = e("nametrans", "lambda f: f.replace('G.', '[Gmail]/')");
    let p = t.plan(
        &[
            "INBOX",
            "[Gmail]/Spam",
            "[Gmail]/Trash",
            "[Gmail]/Sent Mail",
        ],
        &[],
    );
    // The local filter does not stop the local folder from being created
    // (as in OfflineIMAP), only from being synced.
    assert_eq!(p.create_local, vec!["INBOX", "G.Trash", "G.Sent Mail"]);
    assert_eq!(
        pairs(&p),
        vec![("[Gmail]/Sent Mail", "G.Sent Mail"), ("INBOX", "INBOX")]
    );
    assert_eq!(p.pairs[0].status, "G.Sent Mail");
    assert_eq!(p.pairs[0].local_visible, "[Gmail]/Sent Mail");
    assert!(p.errors.is_empty(), "{:?}", p.errors);
}

#[test]
fn folderincludes_bypass_the_filter() {
    let mut t = T::new('.');
    t.remote.folderfilter = e("folderfilter", "lambda f: f == 'INBOX'");
    t.remote.folderincludes = vec!["Archive/2024".into()];
    let p = t.plan(&["INBOX", "Archive/2024", "Junk"], &[]);
    assert_eq!(
        pairs(&p),
        vec![("Archive/2024", "Archive.2024"), ("INBOX", "INBOX")]
    );
}

#[test]
fn reverse_nametrans_creates_under_the_remote_name() {
    let mut t = T::new('.');
    t.remote.nametrans = e("nametrans", "lambda f: re.sub('^\\[Gmail\\]/', '', f)");
    t.local.nametrans = e(
        "nametrans",
        "lambda f: '[Gmail]/' + f if f in ['Sent Mail', 'Drafts'] else f",
    );
    let p = t.plan(
        &["INBOX", "[Gmail]/Sent Mail"],
        &["INBOX", "Sent Mail", "Drafts"],
    );
    assert_eq!(
        p.create_remote,
        vec![("[Gmail]/Drafts".into(), "Drafts".into())]
    );
    assert_eq!(
        pairs(&p),
        vec![
            ("[Gmail]/Drafts", "Drafts"),
            ("INBOX", "INBOX"),
            ("[Gmail]/Sent Mail", "Sent Mail")
        ]
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
}

#[test]
fn infinite_folder_creation_is_refused() {
    let mut t = T::new('.');
    // Remote names lose a prefix, but the local side does not add it back.
    t.remote.nametrans = e("nametrans", "lambda f: re.sub('^INBOX/', '', f)");
    let p = t.plan(&["INBOX/Work"], &["Work", "INBOX.Lists"]);
    assert!(p.create_remote.is_empty(), "{:?}", p.create_remote);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(p.errors[0].contains("INFINITE FOLDER CREATION"));
    assert!(p.errors[0].contains("'INBOX/Lists'"), "{}", p.errors[0]);
    assert_eq!(pairs(&p), vec![("INBOX/Work", "Work")]);
}

#[test]
fn folder_the_remote_filter_rejects_is_not_created() {
    let mut t = T::new('.');
    t.remote.folderfilter = e("folderfilter", "lambda f: f != 'Private'");
    let p = t.plan(&[], &["Private"]);
    assert!(p.create_remote.is_empty());
    assert!(p.errors.is_empty());
}

#[test]
fn foldersort_orders_the_pairs() {
    let mut t = T::new('.');
    t.remote.foldersort = e("foldersort", "lambda x, y: -cmp(x, y)");
    let p = t.plan(&["a", "C", "b", "INBOX"], &[]);
    let order: Vec<&str> = p.pairs.iter().map(|x| x.remote.as_str()).collect();
    assert_eq!(order, vec!["b", "a", "INBOX", "C"]);

    // The classic "INBOX first" sort.
    t.remote.foldersort = e(
        "foldersort",
        "lambda x, y: -1 if x == 'INBOX' else 1 if y == 'INBOX' else cmp(x, y)",
    );
    let p = t.plan(&["a", "C", "b", "INBOX"], &[]);
    let order: Vec<&str> = p.pairs.iter().map(|x| x.remote.as_str()).collect();
    assert_eq!(order, vec!["INBOX", "C", "a", "b"]);
}

#[test]
fn default_sort_is_case_insensitive_by_visible_name() {
    let mut t = T::new('.');
    t.remote.nametrans = e("nametrans", "lambda f: 'z' + f if f == 'A' else f");
    let p = t.plan(&["b", "A", "C"], &[]);
    let order: Vec<&str> = p.pairs.iter().map(|x| x.remote.as_str()).collect();
    assert_eq!(order, vec!["b", "C", "A"]);
}

#[test]
fn raising_expressions_skip_the_folder_with_an_error() {
    let mut t = T::new('.');
    t.remote.nametrans = e("nametrans", "lambda f: f if f != 'Bad' else f[100]");
    let p = t.plan(&["INBOX", "Bad"], &[]);
    assert_eq!(pairs(&p), vec![("INBOX", "INBOX")]);
    assert_eq!(p.errors.len(), 1);
    assert!(
        p.errors[0].starts_with("[Repository R] nametrans failed on folder 'Bad'"),
        "{}",
        p.errors[0]
    );
    assert!(p.errors[0].contains("IndexError"), "{}", p.errors[0]);

    t.remote.nametrans = e("nametrans", "lambda f: len(f)");
    let p = t.plan(&["INBOX"], &[]);
    assert!(p.pairs.is_empty());
    assert!(
        p.errors[0].contains("returned 5, not a string"),
        "{:?}",
        p.errors
    );
}

#[test]
fn a_foldersort_that_raises_falls_back_to_the_default_order() {
    let mut t = T::new('.');
    t.remote.foldersort = e("foldersort", "lambda x, y: x + 1");
    let p = t.plan(&["b", "a"], &[]);
    let order: Vec<&str> = p.pairs.iter().map(|x| x.remote.as_str()).collect();
    assert_eq!(order, vec!["a", "b"]);
    assert_eq!(p.errors.len(), 1);
    assert!(p.errors[0].contains("foldersort"), "{}", p.errors[0]);
}

#[test]
fn two_remote_folders_on_one_local_name_sync_only_the_first() {
    let mut t = T::new('.');
    t.remote.nametrans = e("nametrans", "lambda f: f.lower()");
    let p = t.plan(&["Junk", "junk"], &[]);
    assert_eq!(p.pairs.len(), 1);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
}

#[test]
fn reference_prefixes_created_folders() {
    let mut t = T::new('.');
    t.reference = Some("Mail");
    t.remote.nametrans = e("nametrans", "lambda f: re.sub('^Mail/', '', f)");
    let p = t.plan(&["Mail/INBOX"], &["INBOX", "Notes"]);
    assert_eq!(p.create_remote, vec![("Mail/Notes".into(), "Notes".into())]);
    assert_eq!(
        pairs(&p),
        vec![("Mail/INBOX", "INBOX"), ("Mail/Notes", "Notes")]
    );
    // Without the nametrans the created folder would come back as
    // Mail.Notes: refused.
    t.remote.nametrans = None;
    let p = t.plan(&["Mail/INBOX"], &["Mail.INBOX", "Notes"]);
    assert!(p.create_remote.is_empty());
    assert_eq!(p.errors.len(), 1);
}

#[test]
fn merge_sort_is_stable_and_survives_bad_comparators() {
    let v = vec![(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')];
    let s = merge_sort(v, &|x: &(i32, char), y: &(i32, char)| Ok(x.0.cmp(&y.0))).unwrap();
    assert_eq!(s, vec![(0, 'b'), (0, 'd'), (1, 'a'), (1, 'c')]);
    // Inconsistent: every comparison says "less"; must not panic.
    let v: Vec<i32> = (0..50).collect();
    let s = merge_sort(v, &|_: &i32, _: &i32| Ok(Ordering::Less)).unwrap();
    assert_eq!(s.len(), 50);
    let err = merge_sort(vec![1, 2, 3], &|_: &i32, _: &i32| Err("boom".into()));
    let (items, msg) = err.unwrap_err();
    assert_eq!(items.len(), 3);
    assert_eq!(msg, "boom");
}

fn py(option: &str, src: &str) -> Option<Expr> {
    Some(Expr {
        option: option.into(),
        eval: Evaluator::Python(src.into()),
    })
}

/// A python3 that counts the requests it answers, through a pythonfile.
fn counting_python(dir: &std::path::Path, helpers: &str) -> std::sync::Arc<Python> {
    let file = dir.join("helpers.py");
    std::fs::write(
        &file,
        format!("calls = [0]\ndef count():\n    calls[0] += 1\n    return True\n{helpers}"),
    )
    .unwrap();
    std::sync::Arc::new(Python::new(
        Some(file),
        std::env::var("PATH").ok().as_deref(),
    ))
}

#[test]
fn python_rules_filter_translate_and_sort_in_few_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let python = counting_python(
        dir.path(),
        "def keep(f):\n    return count() and re.match('(INBOX|Work)', f)\n\
         def local_name(f):\n    return f.replace('Work/', 'w_')\n",
    );
    let mut t = T::new('.');
    t.remote.folderfilter = py("folderfilter", "keep  # a trailing comment");
    t.remote.nametrans = py("nametrans", "lambda f: local_name(f)");
    t.local.nametrans = py("nametrans", "lambda f: f.replace('w_', 'Work/')");
    t.remote.foldersort = py("foldersort", "lambda a, b: (a < b) - (a > b)");
    t.python = Some(python.clone());
    let p = t.plan(&["INBOX", "Work/A", "Work/B", "Spam"], &[]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(
        pairs(&p),
        vec![("Work/B", "w_B"), ("Work/A", "w_A"), ("INBOX", "INBOX")]
    );
    assert_eq!(p.create_local, vec!["INBOX", "w_A", "w_B"]);
    // Four remote folders filtered, one call each, in one process.
    assert_eq!(python.eval("calls[0]").unwrap(), Ok(PyValue::Int(4)));
}

#[test]
fn python_rule_that_raises_fails_only_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let python = counting_python(dir.path(), "");
    let mut t = T::new('.');
    t.remote.nametrans = py("nametrans", "lambda f: {'INBOX': 'INBOX'}[f]");
    t.python = Some(python);
    let p = t.plan(&["INBOX", "Other"], &[]);
    assert_eq!(pairs(&p), vec![("INBOX", "INBOX")]);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(
        p.errors[0].starts_with(
            "[Repository R] nametrans failed on folder 'Other', which is not synced: KeyError"
        ),
        "{}",
        p.errors[0]
    );
}

#[test]
fn python_rules_without_python3_fail_each_folder_clearly() {
    let mut t = T::new('.');
    t.remote.folderfilter = py("folderfilter", "lambda f: True");
    t.python = Some(std::sync::Arc::new(Python::with_program(None, None)));
    let p = t.plan(&["INBOX"], &[]);
    assert!(p.pairs.is_empty());
    assert!(
        p.errors[0].contains("folderfilter failed on folder 'INBOX'")
            && p.errors[0].contains("python3 was not found"),
        "{:?}",
        p.errors
    );
}

#[test]
fn builtin_rule_beyond_the_evaluator_on_one_folder_asks_python3() {
    let dir = tempfile::tempdir().unwrap();
    let python = counting_python(dir.path(), "");
    let mut t = T::new('.');
    // The load-time probe (with INBOX) short-circuits before `open`.
    t.remote.folderfilter = e(
        "folderfilter",
        "lambda f: f == 'INBOX' or open('/dev/null').read() == ''",
    );
    t.remote.nametrans = e(
        "nametrans",
        "lambda f: f if f == 'INBOX' else f + open('/dev/null').read() + '_x'",
    );
    t.python = Some(python.clone());
    let p = t.plan(&["INBOX", "Other"], &[]);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(pairs(&p), vec![("INBOX", "INBOX"), ("Other", "Other_x")]);
    assert!(python.started());
}

// utf8foldernames. Wire names below are what OfflineIMAP 8's own
// `imaputil.utf8_IMAP` gives for the UTF-8 names.
const SENT_RU: &str = "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"; // Отправленные

/// (remote as the server spells it, remote name, local, status) of each
/// pair.
fn names(p: &FolderPlan) -> Vec<(&str, &str, &str, &str)> {
    p.pairs
        .iter()
        .map(|x| {
            (
                x.remote.as_str(),
                x.remote_name.as_str(),
                x.local.as_str(),
                x.status.as_str(),
            )
        })
        .collect()
}

#[test]
fn utf8_remote_names_become_utf8_local_and_status_names() {
    let listed = [
        "INBOX",
        "Entw&APw-rfe",
        SENT_RU,
        "Tom &- Jerry",
        "&ZeVnLIqe-/&U,BTFw-",
    ];
    let p = T::utf8('.').plan(&listed, &[]);
    assert_eq!(
        p.create_local,
        [
            "INBOX",
            "Entwürfe",
            "Отправленные",
            "Tom & Jerry",
            "日本語.台北"
        ]
    );
    assert_eq!(
        names(&p),
        [
            ("Entw&APw-rfe", "Entwürfe", "Entwürfe", "Entwürfe"),
            ("INBOX", "INBOX", "INBOX", "INBOX"),
            ("Tom &- Jerry", "Tom & Jerry", "Tom & Jerry", "Tom & Jerry"),
            // By code point, as Python's default sort: Cyrillic first.
            (SENT_RU, "Отправленные", "Отправленные", "Отправленные"),
            (
                "&ZeVnLIqe-/&U,BTFw-",
                "日本語/台北",
                "日本語.台北",
                "日本語.台北"
            ),
        ]
    );
    assert_eq!(p.pairs[0].local_visible, "Entwürfe");
    assert!(p.create_remote.is_empty() && p.errors.is_empty() && p.skipped.is_empty());
}

#[test]
fn without_utf8_the_servers_spelling_is_the_name() {
    let p = T::new('/').plan(&["Entw&APw-rfe", "&-"], &[]);
    assert_eq!(p.create_local, ["Entw&APw-rfe", "&-"]);
    assert_eq!(
        names(&p),
        [
            ("&-", "&-", "&-", "&-"),
            (
                "Entw&APw-rfe",
                "Entw&APw-rfe",
                "Entw&APw-rfe",
                "Entw&APw-rfe"
            ),
        ]
    );
}

#[test]
fn utf8_rules_of_both_sides_see_utf8() {
    let mut t = T::utf8('.');
    t.remote.folderfilter = e("folderfilter", "lambda f: f != 'Отправленные'");
    t.remote.nametrans = e("nametrans", "lambda f: 'Drafts' if f == 'Entwürfe' else f");
    t.local.nametrans = e("nametrans", "lambda f: 'Entwürfe' if f == 'Drafts' else f");
    t.local.folderfilter = e("folderfilter", "lambda f: f != 'Küche'");
    // 'ü' sorts after 'K' by code point: foldersort gets UTF-8 too.
    t.remote.foldersort = e("foldersort", "lambda x, y: -cmp(x, y)");
    let p = t.plan(
        &["INBOX", "Entw&APw-rfe", SENT_RU, "K&APw-che"],
        &["INBOX", "Küche"],
    );
    assert_eq!(p.create_local, ["Drafts"]);
    assert_eq!(
        names(&p),
        [
            ("INBOX", "INBOX", "INBOX", "INBOX"),
            ("Entw&APw-rfe", "Entwürfe", "Drafts", "Drafts"),
        ]
    );
    assert_eq!(p.pairs[1].local_visible, "Entwürfe");
    assert!(p.errors.is_empty() && p.create_remote.is_empty(), "{p:?}");
}

#[test]
fn utf8_local_folders_are_created_in_modified_utf7() {
    let p = T::utf8('.').plan(
        &["INBOX"],
        &["INBOX", "Küche", "Tom & Jerry", "&", "Projekte.Übersicht"],
    );
    assert_eq!(
        p.create_remote,
        [
            ("&-".to_owned(), "&".to_owned()),
            ("K&APw-che".into(), "Küche".into()),
            ("Projekte/&ANw-bersicht".into(), "Projekte.Übersicht".into()),
            ("Tom &- Jerry".into(), "Tom & Jerry".into()),
        ]
    );
    assert_eq!(
        names(&p),
        [
            ("&-", "&", "&", "&"),
            ("INBOX", "INBOX", "INBOX", "INBOX"),
            ("K&APw-che", "Küche", "Küche", "Küche"),
            (
                "Projekte/&ANw-bersicht",
                "Projekte/Übersicht",
                "Projekte.Übersicht",
                "Projekte.Übersicht"
            ),
            ("Tom &- Jerry", "Tom & Jerry", "Tom & Jerry", "Tom & Jerry"),
        ]
    );
    assert!(p.errors.is_empty() && p.skipped.is_empty(), "{p:?}");
}

#[test]
fn utf8_a_second_plan_after_creating_changes_nothing() {
    let t = T::utf8('.');
    let first = t.plan(&["Entw&APw-rfe"], &["Küche"]);
    let mut remote: Vec<String> = vec!["Entw&APw-rfe".into()];
    remote.extend(first.create_remote.iter().map(|(w, _)| w.clone()));
    let mut local: Vec<String> = vec!["Küche".into()];
    local.extend(first.create_local.iter().cloned());
    let remote: Vec<&str> = remote.iter().map(String::as_str).collect();
    let local: Vec<&str> = local.iter().map(String::as_str).collect();
    let second = t.plan(&remote, &local);
    assert!(second.create_local.is_empty() && second.create_remote.is_empty());
    assert_eq!(second.pairs, first.pairs);
}

#[test]
fn utf8_round_trip_check_still_refuses_a_one_sided_nametrans() {
    let mut t = T::utf8('.');
    t.remote.nametrans = e("nametrans", "lambda f: f.replace('Entwürfe', 'Drafts')");
    let p = t.plan(&["INBOX"], &["INBOX", "Entwürfe"]);
    assert!(p.create_remote.is_empty(), "{:?}", p.create_remote);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(p.errors[0].contains("INFINITE FOLDER CREATION"));
    assert!(p.errors[0].contains("'Entwürfe'"), "{}", p.errors[0]);
    assert!(p.errors[0].contains("'Drafts'"), "{}", p.errors[0]);
}

#[test]
fn utf8_folderincludes_are_utf8() {
    let mut t = T::utf8('.');
    t.remote.folderfilter = e("folderfilter", "lambda f: f == 'INBOX'");
    t.remote.folderincludes = vec!["Entwürfe".into()];
    let p = t.plan(&["INBOX", "Entw&APw-rfe", SENT_RU], &[]);
    assert_eq!(p.create_local, ["INBOX", "Entwürfe"]);
    assert_eq!(
        pairs(&p),
        [("Entw&APw-rfe", "Entwürfe"), ("INBOX", "INBOX")]
    );
}

#[test]
fn utf8_names_that_do_not_decode_are_skipped_with_a_warning() {
    // '*' is outside the base64 alphabet; "&AGEAYg-" spells "ab" the long
    // way, after "ab" itself was listed.
    let p = T::utf8('.').plan(&["INBOX", "Bad&Ze*-", "ab", "&AGEAYg-"], &[]);
    assert_eq!(p.create_local, ["INBOX", "ab"]);
    assert_eq!(pairs(&p), [("ab", "ab"), ("INBOX", "INBOX")]);
    assert_eq!(p.skipped.len(), 2, "{:?}", p.skipped);
    assert!(p.skipped[0].contains("'Bad&Ze*-'"), "{}", p.skipped[0]);
    assert!(p.skipped[1].contains("'&AGEAYg-'"), "{}", p.skipped[1]);
    assert!(p.errors.is_empty());
}

#[test]
fn utf8_a_maildir_folder_from_before_the_switch_is_not_pushed_back() {
    // Synced without utf8foldernames, the Maildir holds `Entw&APw-rfe`.
    // Switched on, the server's folder becomes `Entwürfe` locally, and the
    // old directory must not turn into a server folder `Entw&-APw-rfe`.
    let p = T::utf8('.').plan(&["Entw&APw-rfe"], &["Entw&APw-rfe"]);
    assert_eq!(p.create_local, ["Entwürfe"]);
    assert!(p.create_remote.is_empty(), "{:?}", p.create_remote);
    assert_eq!(pairs(&p), [("Entw&APw-rfe", "Entwürfe")]);
    assert_eq!(p.skipped.len(), 1, "{:?}", p.skipped);
    assert!(
        p.skipped[0].contains("rename or remove"),
        "{}",
        p.skipped[0]
    );
    // A name that merely contains '&' is created as such.
    let p = T::utf8('.').plan(&[], &["R&D-Notes"]);
    assert_eq!(
        p.create_remote,
        [("R&-D-Notes".to_owned(), "R&D-Notes".to_owned())]
    );
}
