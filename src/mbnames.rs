//! OfflineIMAP's `[mbnames]`: a file listing the synced local folders of
//! every account (mutt's `mailboxes` line, usually).
//!
//! As in OfflineIMAP, each account's sync leaves its list, already passed
//! through `folderfilter`, in `<metadata>/mbnames/<account>.json` (the same
//! JSON, so this build and offlineimap3 can take turns); the final file is
//! built from every such list: sorted by `sort_keyfunc`, each item formatted
//! with `peritem`, joined with `sep` between `header` and `footer`. It is
//! written once at the end of the run, or after each account with
//! `incremental`, always to a temporary file renamed over the old one.
//!
//! Expressions run on the built-in evaluator, or on the run's `python3`
//! when the configuration left them to it or the evaluator meets something
//! beyond it.

mod json;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::{Evaluator, Expr, Mbnames};
use crate::expr::{self, Value};
use crate::pyeval::{Python, Request, Value as PyValue};

/// One listed folder: an entry of the intermediate JSON files and the
/// dict `peritem`, `folderfilter` and `sort_keyfunc` see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub accountname: String,
    /// The local folder's name as the Maildir repository spells it.
    pub foldername: String,
    /// The local repository's `localfolders`.
    pub localfolders: String,
}

/// What went wrong; each names the option or the file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// An expression (or `peritem`) failed on an item.
    #[error("[mbnames] {option}: {message}")]
    Option { option: String, message: String },
    /// A file could not be read, parsed or written.
    #[error("mbnames: {}: {message}", path.display())]
    File { path: PathBuf, message: String },
}

fn option_error(option: &str, message: impl Into<String>) -> Error {
    Error::Option {
        option: option.to_owned(),
        message: message.into(),
    }
}

fn file_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// The items an account's sync lists: its synced local `folders`, each
/// once, in order, kept when `folderfilter(accountname, foldername)` is
/// true.
pub fn account_items(
    cfg: &Mbnames,
    account: &str,
    localfolders: &str,
    folders: &[String],
) -> Result<Vec<Item>, Error> {
    let mut names: Vec<&String> = Vec::new();
    for f in folders {
        if !names.contains(&f) {
            names.push(f);
        }
    }
    let keep = match &cfg.folderfilter {
        None => vec![true; names.len()],
        Some(f) => filter(f, cfg.python.as_deref(), account, &names)?,
    };
    Ok(names
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(name, _)| Item {
            accountname: account.to_owned(),
            foldername: name.clone(),
            localfolders: localfolders.to_owned(),
        })
        .collect())
}

/// `folderfilter` through `python3`: the verdict as a bool (a match
/// object cannot be passed back). The newline ends a trailing comment.
fn python_filter(source: &str) -> String {
    format!("(lambda __f: lambda a, n: bool(__f(a, n)))(\n{source}\n)")
}

fn filter(
    f: &Expr,
    python: Option<&Python>,
    account: &str,
    names: &[&String],
) -> Result<Vec<bool>, Error> {
    if let Evaluator::Builtin(e) = &f.eval {
        let env = expr::Env::offlineimap();
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let args = [Value::Str(account.to_owned()), Value::Str((*name).clone())];
            match e.call(&env, &args) {
                Ok(v) => out.push(v.truthy()),
                Err(err) if err.is_not_supported() && python.is_some() => {
                    return python_filter_all(f.source(), python, account, names);
                }
                Err(err) => return Err(option_error(&f.option, err.to_string())),
            }
        }
        return Ok(out);
    }
    python_filter_all(f.source(), python, account, names)
}

fn python_filter_all(
    source: &str,
    python: Option<&Python>,
    account: &str,
    names: &[&String],
) -> Result<Vec<bool>, Error> {
    let requests: Vec<Request> = names
        .iter()
        .map(|n| {
            Request::call(
                python_filter(source),
                vec![PyValue::Str(account.to_owned()), PyValue::Str((*n).clone())],
            )
        })
        .collect();
    ask(python, "folderfilter", &requests)?
        .into_iter()
        .map(|v| match v {
            PyValue::Bool(b) => Ok(b),
            other => Err(option_error(
                "folderfilter",
                format!("unexpected {} from python3", other.type_name()),
            )),
        })
        .collect()
}

/// Every reply of one batch, or the first failure.
fn ask(python: Option<&Python>, option: &str, requests: &[Request]) -> Result<Vec<PyValue>, Error> {
    let Some(python) = python else {
        return Err(option_error(
            option,
            format!("needs {}, which is not available", crate::pyeval::PROGRAM),
        ));
    };
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    let replies = python
        .batch(requests)
        .map_err(|e| option_error(option, e.to_string()))?;
    replies
        .into_iter()
        .map(|r| r.map_err(|raised| option_error(option, raised)))
        .collect()
}

/// The content of the mailbox list file for `items` (every account's):
/// `header`, the items sorted by `sort_keyfunc` and formatted with
/// `peritem` joined by `sep`, then `footer`.
pub fn render(cfg: &Mbnames, items: Vec<Item>) -> Result<String, Error> {
    let items = sort(cfg, items)?;
    let lines = format_items(cfg, &items)?;
    Ok(format!(
        "{}{}{}",
        cfg.header,
        lines.join(&cfg.sep),
        cfg.footer
    ))
}

/// [`account_items`] then [`render`], for one account's folders.
pub fn render_account(
    cfg: &Mbnames,
    account: &str,
    localfolders: &str,
    folders: &[String],
) -> Result<String, Error> {
    render(cfg, account_items(cfg, account, localfolders, folders)?)
}

fn dict(item: &Item) -> Value {
    let pair = |k: &str, v: &str| (Value::Str(k.to_owned()), Value::Str(v.to_owned()));
    Value::Dict(vec![
        pair("accountname", &item.accountname),
        pair("foldername", &item.foldername),
        pair("localfolders", &item.localfolders),
    ])
}

fn py_item(item: &Item) -> PyValue {
    PyValue::List(vec![
        PyValue::Str(item.accountname.clone()),
        PyValue::Str(item.foldername.clone()),
        PyValue::Str(item.localfolders.clone()),
    ])
}

/// The dict Python code sees, built from a `py_item` list named `x`.
const PY_DICT: &str = "{'accountname': x[0], 'foldername': x[1], 'localfolders': x[2]}";

/// Sorts stably by `sort_keyfunc`, or by (accountname, foldername).
fn sort(cfg: &Mbnames, items: Vec<Item>) -> Result<Vec<Item>, Error> {
    let Some(f) = &cfg.sort_keyfunc else {
        let mut items = items;
        items.sort_by(|a, b| (&a.accountname, &a.foldername).cmp(&(&b.accountname, &b.foldername)));
        return Ok(items);
    };
    if let Evaluator::Builtin(e) = &f.eval {
        let env = expr::Env::offlineimap();
        let mut keys = Vec::with_capacity(items.len());
        let mut beyond = false;
        for item in &items {
            match e.call(&env, &[dict(item)]) {
                Ok(k) => keys.push(k),
                Err(err) if err.is_not_supported() && cfg.python.is_some() => {
                    beyond = true;
                    break;
                }
                Err(err) => return Err(option_error(&f.option, err.to_string())),
            }
        }
        if !beyond {
            let order = insertion_order(&keys, &|a, b| match a.py_cmp(b) {
                Ok(Some(o)) => Ok(o),
                Ok(None) => Ok(Ordering::Equal),
                Err(()) => Err(format!(
                    "cannot compare sort keys {} and {}",
                    a.repr(),
                    b.repr()
                )),
            })
            .map_err(|m| option_error(&f.option, m))?;
            return Ok(reorder(items, &order));
        }
    }
    let source = format!(
        "(lambda __k: lambda items: sorted(range(len(items)), \
         key=lambda i: (lambda x: __k({PY_DICT}))(items[i])))(\n{}\n)",
        f.source()
    );
    let list = PyValue::List(items.iter().map(py_item).collect());
    let reply = ask(
        cfg.python.as_deref(),
        &f.option,
        &[Request::call(source, vec![list])],
    )?;
    let bad = || option_error(&f.option, "python3 gave back a malformed order");
    let Some(PyValue::List(order)) = reply.into_iter().next() else {
        return Err(bad());
    };
    let order: Vec<usize> = order
        .into_iter()
        .map(|v| match v {
            PyValue::Int(i) => usize::try_from(i).ok().filter(|&i| i < items.len()),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    if order.len() != items.len() {
        return Err(bad());
    }
    Ok(reorder(items, &order))
}

/// A stable insertion sort with a comparison that may fail: the indices of
/// `keys` in order. (std's sorts may panic on an inconsistent order, which
/// a user's key function can produce.)
fn insertion_order<T>(
    keys: &[T],
    cmp: &dyn Fn(&T, &T) -> Result<Ordering, String>,
) -> Result<Vec<usize>, String> {
    let mut order: Vec<usize> = Vec::with_capacity(keys.len());
    for i in 0..keys.len() {
        let mut at = order.len();
        while at > 0 && cmp(&keys[order[at - 1]], &keys[i])? == Ordering::Greater {
            at -= 1;
        }
        order.insert(at, i);
    }
    Ok(order)
}

fn reorder(items: Vec<Item>, order: &[usize]) -> Vec<Item> {
    let mut slots: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// `peritem % item` for each item.
fn format_items(cfg: &Mbnames, items: &[Item]) -> Result<Vec<String>, Error> {
    let compiled = expr::compile("p % d").map_err(|e| option_error("peritem", e.to_string()))?;
    let mut env = expr::Env::new();
    env.set("p", Value::Str(cfg.peritem.clone()));
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        env.set("d", dict(item));
        match compiled.eval(&env) {
            Ok(Value::Str(s)) => out.push(s),
            Ok(other) => {
                return Err(option_error(
                    "peritem",
                    format!("must give a str, not {}", other.type_name()),
                ));
            }
            Err(e) if e.is_not_supported() && cfg.python.is_some() => {
                return python_format(cfg, items);
            }
            Err(e) => return Err(option_error("peritem", e.message())),
        }
    }
    Ok(out)
}

fn python_format(cfg: &Mbnames, items: &[Item]) -> Result<Vec<String>, Error> {
    let source = format!("lambda p, x: p % {PY_DICT}");
    let requests: Vec<Request> = items
        .iter()
        .map(|i| {
            Request::call(
                source.clone(),
                vec![PyValue::Str(cfg.peritem.clone()), py_item(i)],
            )
        })
        .collect();
    ask(cfg.python.as_deref(), "peritem", &requests)?
        .into_iter()
        .map(|v| match v {
            PyValue::Str(s) => Ok(s),
            other => Err(option_error(
                "peritem",
                format!("must give a str, not {}", other.type_name()),
            )),
        })
        .collect()
}

/// `<metadata>/mbnames`, where the per-account lists are kept.
pub fn intermediate_dir(metadata: &Path) -> PathBuf {
    metadata.join("mbnames")
}

/// `<metadata>/mbnames/<account>.json`.
pub fn intermediate_path(metadata: &Path, account: &str) -> PathBuf {
    intermediate_dir(metadata).join(format!("{account}.json"))
}

/// Writes `content` to `path` through a temporary file in the same
/// directory, renamed over it, so that a reader never sees half a file.
pub fn write_atomically(path: &Path, content: &str) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| file_error(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(content.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(file_error(path, e));
    }
    Ok(())
}

/// Writes an account's list (already filtered) in OfflineIMAP's JSON.
pub fn write_intermediate(metadata: &Path, account: &str, items: &[Item]) -> Result<(), Error> {
    write_atomically(
        &intermediate_path(metadata, account),
        &json::encode_items(items),
    )
}

/// Every account's list, in file-name order. A file that cannot be read
/// or parsed is left out and reported, as OfflineIMAP does.
pub fn read_intermediates(metadata: &Path) -> (Vec<Item>, Vec<Error>) {
    let dir = intermediate_dir(metadata);
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.to_string_lossy().ends_with(".json"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            errors.push(file_error(&dir, e));
            Vec::new()
        }
    };
    files.sort();
    let mut items = Vec::new();
    for file in files {
        match std::fs::read_to_string(&file) {
            Ok(text) => match json::decode_items(&text) {
                Ok(mut v) => items.append(&mut v),
                Err(m) => errors.push(file_error(&file, format!("not properly read: {m}"))),
            },
            Err(e) => errors.push(file_error(&file, e)),
        }
    }
    (items, errors)
}

/// Builds the mailbox list file from every account's list and writes it.
/// Unreadable account lists are left out; they come back with the result.
pub fn write_file(cfg: &Mbnames, metadata: &Path) -> Result<Vec<Error>, Error> {
    let (items, skipped) = read_intermediates(metadata);
    let content = render(cfg, items)?;
    write_atomically(&cfg.filename, &content)?;
    Ok(skipped)
}

/// What an account's sync does at its end: writes its list of synced
/// local `folders` and, with `incremental`, the mailbox list file. The
/// errors of left-out account lists come back.
pub fn account_synced(
    cfg: &Mbnames,
    metadata: &Path,
    account: &str,
    localfolders: &str,
    folders: &[String],
) -> Result<Vec<Error>, Error> {
    let items = account_items(cfg, account, localfolders, folders)?;
    write_intermediate(metadata, account, &items)?;
    if cfg.incremental {
        return write_file(cfg, metadata);
    }
    Ok(Vec::new())
}

/// `--mbnames-prune`: removes the lists of accounts not in `keep` (every
/// list when `[mbnames]` is disabled), as OfflineIMAP does. The files
/// removed (or, in a dry run, to remove) come back, with those that could
/// not be.
pub fn prune(metadata: &Path, keep: &[String], dry_run: bool) -> (Vec<PathBuf>, Vec<Error>) {
    let dir = intermediate_dir(metadata);
    let mut removed = Vec::new();
    let mut errors = Vec::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return (removed, vec![file_error(&dir, e)]),
    };
    files.sort();
    for file in files {
        let Some(account) = file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if keep.iter().any(|k| k == account) {
            continue;
        }
        if dry_run {
            removed.push(file);
            continue;
        }
        match std::fs::remove_file(&file) {
            Ok(()) => removed.push(file),
            Err(e) => errors.push(file_error(&file, e)),
        }
    }
    (removed, errors)
}
