//! Enforces the dependency rule of docs/architecture.md by scanning
//! `src/` for `crate::` paths. Cheap, and it cannot rot silently.

use std::fs;
use std::path::{Path, PathBuf};

/// Which top-level modules each module may name via `crate::`.
fn allowed(module: &str) -> Option<&'static [&'static str]> {
    Some(match module {
        "sync" | "event" | "cli" | "expr" | "pyeval" => &[],
        "config" => &["expr", "pyeval"],
        "status" => &["sync"],
        "imap" | "maildir" => &["sync", "config"],
        "ui" => &["event", "config"],
        "mbnames" => &["config", "expr", "pyeval"],
        "account" => &[
            "sync", "imap", "maildir", "status", "config", "event", "expr", "pyeval", "mbnames",
        ],
        // The edge may wire everything.
        "app" | "main" | "lib" | "signals" => return None,
        other => panic!("module {other} is not in docs/architecture.md's dependency rule"),
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_only_use_what_the_dependency_rule_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(
        !files.is_empty(),
        "no sources found under {}",
        src.display()
    );
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some(allowed) = allowed(&top) else {
            continue;
        };
        let text = fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + "crate::".len()..];
                let used: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if used != top && !allowed.contains(&used.as_str()) {
                    violations.push(format!(
                        "src/{}:{} uses crate::{used} (forbidden by docs/architecture.md)",
                        rel.display(),
                        n + 1
                    ));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_planner_stays_pure() {
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sync/plan.rs");
    let text = fs::read_to_string(&plan).unwrap();
    for banned in [
        "tokio",
        "std::fs",
        "std::net",
        "rusqlite",
        "async_imap",
        "Instant::now",
        "SystemTime::now",
    ] {
        assert!(
            !text.contains(banned),
            "src/sync/plan.rs names {banned}; the planner must stay pure"
        );
    }
}
