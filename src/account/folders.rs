//! Pure folder-structure matching: which remote folder pairs with which
//! local folder, which folders must be created on either side, and in
//! which order the pairs are synced.
//!
//! The rules are OfflineIMAP's (`sync_folder_structure` and the folder
//! loop of `accounts.py`):
//!
//! * `folderfilter` sees the name as its own repository spells it; a name
//!   in `folderincludes` is kept whatever the filter says.
//! * `nametrans` maps a repository's name to its *visible* name. A remote
//!   folder's local counterpart is its visible name with the remote
//!   delimiter swapped for the local `sep`; a local folder's remote
//!   counterpart is the local visible name with `sep` swapped back.
//! * A folder is created on the server only if the remote `nametrans`
//!   brings the new name back to the local folder it came from; otherwise
//!   every run would create one more folder ("INFINITE FOLDER CREATION").
//! * Folder deletions are never propagated.
//! * With `utf8foldernames`, a remote name is decoded from modified UTF-7
//!   first, so every rule of both repositories, the local folder names and
//!   the status names see UTF-8; only SELECT and CREATE use the server's
//!   spelling. This is where OfflineIMAP decodes too: when it makes a
//!   folder object of a listed name.
//!
//! Expressions are evaluated here (those left to `python3` in batches,
//! which block: call this off the async runtime's workers), but nothing
//! else is touched: the caller lists, creates and syncs.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::config::{Evaluator, Expr, FolderRules};
use crate::expr::{Env, Value};
use crate::imap::utf7;
use crate::pyeval::{Python, Request, Value as PyValue};

/// One remote folder as listed by the server (or added by
/// `folderincludes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteName {
    /// The name as the server spells it (modified UTF-7), with the
    /// server's delimiter.
    pub name: String,
    /// The server's hierarchy delimiter for it, if any.
    pub delimiter: Option<char>,
}

/// A folder pair to sync.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FolderPair {
    /// The remote folder as the server spells it: what to SELECT.
    pub remote: String,
    /// The remote folder's name as OfflineIMAP's IMAP folder knows it:
    /// `remote` itself, or its UTF-8 decoding with `utf8foldernames`.
    /// The remote repository's `FolderValidity` file is named after it.
    pub remote_name: String,
    pub local: String,
    /// The local folder's `nametrans`'d name; its MD5 is the `,FMD5=` of
    /// the folder's message file names.
    pub local_visible: String,
    /// The status cache's name: the remote *visible* name with the remote
    /// delimiter replaced by `.` (OfflineIMAP's status repository
    /// separator).
    pub status: String,
    /// The remote folder's visible (`nametrans`'d) name, as the remote
    /// repository's `copy_ignore_eval` is given it.
    pub remote_visible: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderPlan {
    /// Pairs to sync, in sync order: `foldersort` of the remote repository
    /// over visible names, by default case-insensitive.
    pub pairs: Vec<FolderPair>,
    /// Local folders to create (remote exists, local does not).
    pub create_local: Vec<String>,
    /// Remote folders to create (local exists, remote does not), as the
    /// server spells them (what to CREATE), with the local name they come
    /// from.
    pub create_remote: Vec<(String, String)>,
    /// Folders left alone, with the reason (shown as warnings).
    pub skipped: Vec<String>,
    /// Problems the user must fix (shown as errors; the run's exit code
    /// says so): expressions that raised, names that do not translate
    /// back, two folders mapped onto one.
    pub errors: Vec<String>,
}

pub struct FolderOptions<'a> {
    pub local_sep: char,
    /// The server's hierarchy delimiter (also used for folders it did not
    /// list).
    pub remote_sep: char,
    pub create_local: bool,
    pub create_remote: bool,
    /// `utf8foldernames`: decode the server's names for everything but
    /// SELECT and CREATE. Off, remote names are modified UTF-7, which is
    /// pure ASCII: a local name with other characters cannot round-trip,
    /// so it is not created on the server.
    pub utf8_names: bool,
    pub local: &'a FolderRules,
    pub remote: &'a FolderRules,
    /// The remote `reference`, prefixed (with the delimiter) to folders
    /// created on the server.
    pub reference: Option<&'a str>,
    /// The run's `python3`, for expressions left to it. They are asked in
    /// a few batches (all listed folders at once, then the names derived
    /// from them, then the order), never one call per folder.
    pub python: Option<&'a Python>,
}

/// A repository's rules with the globals they are evaluated in, and what
/// `python3` answered for the expressions left to it.
struct Side<'a> {
    rules: &'a FolderRules,
    sep: char,
    env: Env,
    python: Option<&'a Python>,
    keep_cache: RefCell<HashMap<String, Result<bool, String>>>,
    visible_cache: RefCell<HashMap<String, Result<String, String>>>,
}

/// `folderfilter` through `python3`: the verdict as a bool, since a filter
/// may return a match object, which cannot be passed back. The newline
/// before `)` ends any trailing comment of the source.
fn python_filter(source: &str) -> String {
    format!("(lambda __f: lambda name: bool(__f(name)))(\n{source}\n)")
}

/// `foldersort` through `python3`: Python's own sort with the `cmp`-style
/// function (as OfflineIMAP sorts), answering the order as indices.
fn python_sort(source: &str) -> String {
    format!(
        "(lambda __c: lambda names: sorted(range(len(names)), \
         key=__import__('functools').cmp_to_key(lambda i, j: __c(names[i], names[j]))))(\n{source}\n)"
    )
}

impl<'a> Side<'a> {
    fn new(rules: &'a FolderRules, sep: char, python: Option<&'a Python>) -> Side<'a> {
        Side {
            rules,
            sep,
            env: Env::offlineimap(),
            python,
            keep_cache: RefCell::new(HashMap::new()),
            visible_cache: RefCell::new(HashMap::new()),
        }
    }

    fn failed(&self, e: &Expr, folder: &str, why: impl std::fmt::Display) -> String {
        let section = if self.rules.section.is_empty() {
            String::new()
        } else {
            format!("[{}] ", self.rules.section)
        };
        format!(
            "{section}{} failed on folder '{folder}', which is not synced: {why}",
            e.option
        )
    }

    /// The requests `python3` must answer for `names` (those not answered
    /// yet), each with what to do with its reply.
    fn python_requests(&self, names: &[String]) -> Vec<(Request, Pending)> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for name in names {
            if !seen.insert(name.as_str()) {
                continue;
            }
            let arg = || vec![PyValue::Str(name.clone())];
            if let Some(f) = &self.rules.folderfilter
                && let Evaluator::Python(src) = &f.eval
                && !self.keep_cache.borrow().contains_key(name)
            {
                out.push((
                    Request::call(python_filter(src), arg()),
                    Pending::Keep(name.clone()),
                ));
            }
            if let Some(t) = &self.rules.nametrans
                && let Evaluator::Python(src) = &t.eval
                && !self.visible_cache.borrow().contains_key(name)
            {
                out.push((
                    Request::call(src.clone(), arg()),
                    Pending::Visible(name.clone()),
                ));
            }
        }
        out
    }

    fn answer(&self, pending: Pending, reply: Result<PyValue, String>) {
        match pending {
            Pending::Keep(name) => {
                let Some(f) = &self.rules.folderfilter else {
                    return;
                };
                let verdict = match reply {
                    Ok(PyValue::Bool(b)) => Ok(b),
                    Ok(other) => Err(self.failed(
                        f,
                        &name,
                        format!("it returned a {}, not a bool", other.type_name()),
                    )),
                    Err(e) => Err(self.failed(f, &name, e)),
                };
                self.keep_cache.borrow_mut().insert(name, verdict);
            }
            Pending::Visible(name) => {
                let Some(t) = &self.rules.nametrans else {
                    return;
                };
                let visible = match reply {
                    Ok(PyValue::Str(s)) => Ok(s),
                    Ok(other) => Err(self.failed(
                        t,
                        &name,
                        format!("it returned a {}, not a string", other.type_name()),
                    )),
                    Err(e) => Err(self.failed(t, &name, e)),
                };
                self.visible_cache.borrow_mut().insert(name, visible);
            }
        }
    }

    fn arg(&self, name: &str) -> Vec<PyValue> {
        vec![PyValue::Str(name.to_owned())]
    }

    /// One answer from `python3`, for a built-in expression that met
    /// something beyond the evaluator on one folder only (the load-time
    /// probe did not see it): rare, so not batched.
    fn ask_one(&self, request: Request) -> Result<PyValue, String> {
        let Some(python) = self.python else {
            return Err(format!("{} is not available", crate::pyeval::PROGRAM));
        };
        match python.batch(&[request]) {
            Ok(mut replies) => replies.pop().unwrap_or_else(|| Err("no answer".to_owned())),
            Err(e) => Err(e.to_string()),
        }
    }

    /// OfflineIMAP's `should_sync_folder`.
    fn keep(&self, name: &str) -> Result<bool, String> {
        if self.rules.folderincludes.iter().any(|i| i == name) {
            return Ok(true);
        }
        let Some(f) = &self.rules.folderfilter else {
            return Ok(true);
        };
        match &f.eval {
            Evaluator::Builtin(e) => match e.call(&self.env, &[Value::Str(name.to_owned())]) {
                Ok(v) => Ok(v.truthy()),
                Err(err) if err.is_not_supported() && self.python.is_some() => {
                    let request = Request::call(python_filter(e.source()), self.arg(name));
                    self.answer(Pending::Keep(name.to_owned()), self.ask_one(request));
                    self.keep_cache
                        .borrow()
                        .get(name)
                        .cloned()
                        .unwrap_or(Ok(true))
                }
                Err(err) => Err(self.failed(f, name, err)),
            },
            Evaluator::Python(_) => {
                if !self.keep_cache.borrow().contains_key(name) {
                    prefetch(&[(self, vec![name.to_owned()])]);
                }
                self.keep_cache
                    .borrow()
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| Err(self.failed(f, name, "no answer from python3")))
            }
        }
    }

    /// OfflineIMAP's `getvisiblename`: a visible name equal to the
    /// separator stands for the top level, `""`.
    fn visible(&self, name: &str) -> Result<String, String> {
        let v = match &self.rules.nametrans {
            None => name.to_owned(),
            Some(t) => match &t.eval {
                Evaluator::Builtin(e) => match e.call(&self.env, &[Value::Str(name.to_owned())]) {
                    Ok(Value::Str(s)) => s,
                    Ok(other) => {
                        return Err(self.failed(
                            t,
                            name,
                            format!("it returned {}, not a string", other.repr()),
                        ));
                    }
                    Err(err) if err.is_not_supported() && self.python.is_some() => {
                        let request = Request::call(e.source(), self.arg(name));
                        self.answer(Pending::Visible(name.to_owned()), self.ask_one(request));
                        self.visible_cache
                            .borrow()
                            .get(name)
                            .cloned()
                            .unwrap_or_else(|| Ok(name.to_owned()))?
                    }
                    Err(e) => return Err(self.failed(t, name, e)),
                },
                Evaluator::Python(_) => {
                    if !self.visible_cache.borrow().contains_key(name) {
                        prefetch(&[(self, vec![name.to_owned()])]);
                    }
                    self.visible_cache
                        .borrow()
                        .get(name)
                        .cloned()
                        .unwrap_or_else(|| Err(self.failed(t, name, "no answer from python3")))?
                }
            },
        };
        let mut buf = [0u8; 4];
        Ok(if v == *self.sep.encode_utf8(&mut buf) {
            String::new()
        } else {
            v
        })
    }
}

/// What a request to `python3` was for.
enum Pending {
    Keep(String),
    Visible(String),
}

/// Asks `python3` in one round trip for every filter verdict and visible
/// name of `wanted` that is left to it and not known yet. A failure of the
/// process itself becomes every folder's error.
fn prefetch(wanted: &[(&Side, Vec<String>)]) {
    let mut requests = Vec::new();
    let mut pendings = Vec::new();
    for (i, (side, names)) in wanted.iter().enumerate() {
        for (request, pending) in side.python_requests(names) {
            requests.push(request);
            pendings.push((i, pending));
        }
    }
    if requests.is_empty() {
        return;
    }
    let python = wanted.iter().find_map(|(side, _)| side.python);
    let replies = match python {
        Some(p) => p.batch(&requests).map_err(|e| e.to_string()),
        None => Err(format!("{} is not available", crate::pyeval::PROGRAM)),
    };
    match replies {
        Ok(replies) => {
            for ((i, pending), reply) in pendings.into_iter().zip(replies) {
                wanted[i].0.answer(pending, reply);
            }
        }
        Err(e) => {
            for (i, pending) in pendings {
                wanted[i].0.answer(pending, Err(e.clone()));
            }
        }
    }
}

/// What is known of one folder after filtering and translating it.
struct Known {
    name: String,
    keep: bool,
    visible: String,
}

/// Filters and translates one folder; an expression that raises drops
/// the folder with an error.
fn know(side: &Side, name: &str, errors: &mut Vec<String>) -> Option<Known> {
    let keep = side.keep(name).map_err(|e| errors.push(e)).ok()?;
    let visible = side.visible(name).map_err(|e| errors.push(e)).ok()?;
    Some(Known {
        name: name.to_owned(),
        keep,
        visible,
    })
}

fn swap(name: &str, from: char, to: char) -> String {
    if from == to {
        name.to_owned()
    } else {
        name.replace(from, to.encode_utf8(&mut [0u8; 4]))
    }
}

/// One folder of one repository as `--info` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Described {
    /// The name as the repository's rules see it.
    pub name: String,
    /// `nametrans` of it (`Err`: why it failed).
    pub visible: Result<String, String>,
    /// Whether `folderfilter` (or `folderincludes`) keeps it.
    pub keep: Result<bool, String>,
}

/// What one repository's rules make of each of `names`, in order: the
/// same evaluation a sync does, without planning anything.
pub fn describe(
    names: &[String],
    rules: &FolderRules,
    sep: char,
    python: Option<&Python>,
) -> Vec<Described> {
    let side = Side::new(rules, sep, python);
    prefetch(&[(&side, names.to_vec())]);
    names
        .iter()
        .map(|n| Described {
            name: n.clone(),
            visible: side.visible(n),
            keep: side.keep(n),
        })
        .collect()
}

pub fn plan_folders(remote: &[RemoteName], local: &[String], opts: &FolderOptions) -> FolderPlan {
    let mut out = FolderPlan::default();
    let rside = Side::new(opts.remote, opts.remote_sep, opts.python);
    let lside = Side::new(opts.local, opts.local_sep, opts.python);
    let (lsep, rsep) = (opts.local_sep, opts.remote_sep);
    let (names, mut wire) = remote_names(remote, opts.utf8_names, &mut out.skipped);
    prefetch(&[(&rside, names.clone()), (&lside, local.to_vec())]);

    let mut remotes: Vec<Known> = Vec::new();
    // Every remote name, as the rules see them.
    let mut remote_set: BTreeSet<String> = BTreeSet::new();
    for name in names {
        if !remote_set.insert(name.clone()) {
            continue;
        }
        if let Some(k) = know(&rside, &name, &mut out.errors) {
            remotes.push(k);
        }
    }
    let mut locals: BTreeMap<String, Known> = BTreeMap::new();
    for l in local {
        if let Some(k) = know(&lside, l, &mut out.errors) {
            locals.insert(l.clone(), k);
        }
    }
    // The names the rest may ask about: local counterparts of remote
    // folders and remote counterparts of local ones (a superset).
    prefetch(&[
        (
            &lside,
            remotes
                .iter()
                .filter(|r| r.keep)
                .map(|r| swap(&r.visible, opts.remote_sep, opts.local_sep))
                .collect(),
        ),
        (
            &rside,
            locals
                .values()
                .filter(|l| l.keep)
                .map(|l| {
                    let name = swap(&l.visible, opts.local_sep, opts.remote_sep);
                    match opts.reference {
                        Some(r) => format!("{r}{}{name}", opts.remote_sep),
                        None => name,
                    }
                })
                .collect(),
        ),
    ]);
    // A remote name holding the local separator would read back as another
    // hierarchy (OfflineIMAP ignores such folders, unless `sep` is `/`).
    let bad_sep = |name: &str| lsep != '/' && lsep != rsep && name.contains(lsep);

    // Remote -> local.
    if opts.create_local {
        for r in remotes.iter().filter(|r| r.keep && !bad_sep(&r.name)) {
            let local_name = swap(&r.visible, rsep, lsep);
            if local_name.is_empty() || locals.contains_key(&local_name) {
                continue;
            }
            if let Some(k) = know(&lside, &local_name, &mut out.errors) {
                out.create_local.push(local_name.clone());
                locals.insert(local_name, k);
            }
        }
    }

    // Local -> remote. A local folder that already is the counterpart of a
    // remote one is not created again under another name: OfflineIMAP
    // would (the classic duplicate "Sent Mail" of a Gmail config without
    // a reverse nametrans); one folder is all the user wants.
    let counterparts: BTreeSet<String> = remotes
        .iter()
        .filter(|r| r.keep && !bad_sep(&r.name))
        .map(|r| swap(&r.visible, rsep, lsep))
        .collect();
    if opts.create_remote {
        let existing: Vec<String> = locals
            .keys()
            .filter(|l| !l.is_empty() && !out.create_local.contains(l))
            .cloned()
            .collect();
        for l in existing {
            let Some(lk) = locals.get(&l) else { continue };
            if !lk.keep || counterparts.contains(&l) {
                continue;
            }
            let remote_name = swap(&lk.visible, lsep, rsep);
            let full = match opts.reference {
                Some(r) => format!("{r}{rsep}{remote_name}"),
                None => remote_name,
            };
            if remote_set.contains(&full) {
                continue;
            }
            if !opts.utf8_names && !full.is_ascii() {
                out.skipped.push(format!(
                    "Not creating local folder '{l}' on the server: non-ASCII names need utf8foldernames = yes"
                ));
                continue;
            }
            if opts.utf8_names
                && let Ok(decoded) = utf7::decode(&full)
                && decoded != full
            {
                // Most likely the folder as it was named before
                // utf8foldernames was switched on; OfflineIMAP would create
                // `Entw&-APw-rfe` on the server for it, a folder that reads
                // `Entw&APw-rfe` and that nobody wants.
                out.skipped.push(format!(
                    "Not creating local folder '{l}' on the server: with utf8foldernames = yes its name is taken as UTF-8, \
                     but it reads as modified UTF-7 for '{decoded}' (a folder from before utf8foldernames?); rename or remove it"
                ));
                continue;
            }
            if opts.local.nametrans.is_none() && rsep != lsep && l.contains(rsep) {
                out.skipped.push(format!(
                    "Not creating local folder '{l}' on the server: its name contains the server's delimiter '{rsep}'"
                ));
                continue;
            }
            let Some(rk) = know(&rside, &full, &mut out.errors) else {
                continue;
            };
            if !rk.keep {
                // The remote folderfilter would ignore it; OfflineIMAP
                // quietly leaves it alone.
                continue;
            }
            let loop_name = swap(&rk.visible, rsep, lsep);
            if loop_name != l {
                out.errors.push(format!(
                    "INFINITE FOLDER CREATION DETECTED! Not creating folder '{full}' on the server for local folder '{l}': \
                     the remote nametrans turns '{full}' into '{loop_name}', not '{l}', so every run would create another folder. \
                     Set nametrans on both repositories so that they undo each other, or use folderfilter to keep such folders from being created"
                ));
                continue;
            }
            let spelled = if opts.utf8_names {
                utf7::encode(&full)
            } else {
                full.clone()
            };
            out.create_remote.push((spelled.clone(), l.clone()));
            wire.insert(full.clone(), spelled);
            remote_set.insert(full);
            remotes.push(rk);
        }
    }

    let order = sort_remotes(&rside, remotes, &mut out.errors);

    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for r in order {
        if !r.keep {
            continue;
        }
        if bad_sep(&r.name) {
            out.skipped.push(format!(
                "Ignoring folder '{}' due to unsupported '{lsep}' character serving as local separator",
                r.name
            ));
            continue;
        }
        let local_name = swap(&r.visible, rsep, lsep);
        let Some(lk) = locals.get(&local_name) else {
            out.skipped.push(format!(
                "Not syncing remote folder '{}': local folder '{local_name}' is missing and createfolders is off",
                r.name
            ));
            continue;
        };
        if !lk.keep {
            continue;
        }
        if let Some(first) = taken.get(&local_name) {
            out.errors.push(format!(
                "Not syncing remote folder '{}': it maps to local folder '{local_name}' like '{first}' does (nametrans must give every folder its own name)",
                r.name
            ));
            continue;
        }
        taken.insert(local_name.clone(), r.name.clone());
        out.pairs.push(FolderPair {
            status: swap(&r.visible, rsep, '.'),
            remote_visible: r.visible.clone(),
            remote: wire.get(&r.name).cloned().unwrap_or_else(|| r.name.clone()),
            remote_name: r.name,
            local_visible: lk.visible.clone(),
            local: local_name,
        });
    }

    for l in locals.values() {
        if l.name.is_empty() || !l.keep || opts.create_remote || taken.contains_key(&l.name) {
            continue;
        }
        let remote_name = swap(&l.visible, lsep, rsep);
        let full = match opts.reference {
            Some(r) => format!("{r}{rsep}{remote_name}"),
            None => remote_name,
        };
        if !remote_set.contains(&full) {
            out.skipped.push(format!(
                "Not syncing local folder '{}': it does not exist on the server and createfolders is off",
                l.name
            ));
        }
    }
    out
}

/// The remote names as the rules see them, in listing order, and how the
/// server spells each. With `utf8` they are decoded from modified UTF-7; a
/// name that does not decode, or that decodes like an earlier one (a
/// non-canonical spelling), is left out with a warning.
fn remote_names(
    remote: &[RemoteName],
    utf8: bool,
    skipped: &mut Vec<String>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let mut names = Vec::with_capacity(remote.len());
    let mut wire: BTreeMap<String, String> = BTreeMap::new();
    for r in remote {
        let name = if utf8 {
            match utf7::decode(&r.name) {
                Ok(n) => n,
                Err(e) => {
                    skipped.push(format!(
                        "Not syncing remote folder '{}' (utf8foldernames = yes): {e}",
                        r.name
                    ));
                    continue;
                }
            }
        } else {
            r.name.clone()
        };
        match wire.get(&name) {
            None => {
                wire.insert(name.clone(), r.name.clone());
                names.push(name);
            }
            Some(first) if *first != r.name => skipped.push(format!(
                "Not syncing remote folder '{}': it decodes to '{name}' like '{first}' does",
                r.name
            )),
            // Listed twice: once is enough.
            Some(_) => {}
        }
    }
    (names, wire)
}

/// Orders the remote folders as OfflineIMAP does: by `foldersort` over
/// visible names, else case-insensitively by visible name. A `foldersort`
/// that raises is reported once and the default order used.
fn sort_remotes(side: &Side, mut remotes: Vec<Known>, errors: &mut Vec<String>) -> Vec<Known> {
    let default = |v: &mut Vec<Known>| v.sort_by_key(|k| k.visible.to_lowercase());
    let Some(sort) = &side.rules.foldersort else {
        default(&mut remotes);
        return remotes;
    };
    let compiled = match &sort.eval {
        Evaluator::Builtin(c) => c,
        Evaluator::Python(src) => {
            return match python_sorted(side, src, remotes) {
                Ok(v) => v,
                Err((mut v, e)) => {
                    errors.push(format!(
                        "[{}] {}: {e}; using the default order",
                        side.rules.section, sort.option
                    ));
                    default(&mut v);
                    v
                }
            };
        }
    };
    let f = match compiled.eval(&side.env) {
        Ok(f) => f,
        Err(e) => {
            errors.push(format!(
                "[{}] {}: {e}; using the default order",
                side.rules.section, sort.option
            ));
            default(&mut remotes);
            return remotes;
        }
    };
    let cmp = |a: &Known, b: &Known| -> Result<Ordering, String> {
        let v = f
            .call(&[Value::Str(a.visible.clone()), Value::Str(b.visible.clone())])
            .map_err(|e| e.to_string())?;
        match v {
            Value::Int(n) => Ok(n.cmp(&0)),
            Value::Bool(b) => Ok(i64::from(b).cmp(&0)),
            Value::Float(x) => Ok(x.partial_cmp(&0.0).unwrap_or(Ordering::Equal)),
            other => Err(format!(
                "it returned {}, expected a number like cmp()",
                other.repr()
            )),
        }
    };
    match merge_sort(remotes, &cmp) {
        Ok(v) => v,
        Err((mut v, e)) => {
            errors.push(format!(
                "[{}] {}: {e}; using the default order",
                side.rules.section, sort.option
            ));
            default(&mut v);
            v
        }
    }
}

/// Sorts by a `foldersort` left to `python3`, in one request. On failure
/// the items come back unsorted, with the reason.
fn python_sorted(
    side: &Side,
    source: &str,
    remotes: Vec<Known>,
) -> Result<Vec<Known>, (Vec<Known>, String)> {
    let Some(python) = side.python else {
        let e = format!("{} is not available", crate::pyeval::PROGRAM);
        return Err((remotes, e));
    };
    let names: Vec<PyValue> = remotes
        .iter()
        .map(|k| PyValue::Str(k.visible.clone()))
        .collect();
    let request = Request::call(python_sort(source), vec![PyValue::List(names)]);
    let reply = match python.batch(&[request]) {
        Ok(mut r) => r.pop().unwrap_or_else(|| Err("no answer".to_owned())),
        Err(e) => Err(e.to_string()),
    };
    let order = match reply {
        Ok(PyValue::List(order)) => order,
        Ok(other) => return Err((remotes, format!("unexpected {}", other.type_name()))),
        Err(e) => return Err((remotes, e)),
    };
    let mut slots: Vec<Option<Known>> = remotes.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(slots.len());
    for i in order {
        let taken = match i {
            PyValue::Int(i) => usize::try_from(i).ok().and_then(|i| slots.get_mut(i)),
            _ => None,
        }
        .and_then(Option::take);
        match taken {
            Some(k) => out.push(k),
            None => {
                out.extend(slots.into_iter().flatten());
                return Err((out, "a malformed order came back".to_owned()));
            }
        }
    }
    out.extend(slots.into_iter().flatten());
    Ok(out)
}

/// A stable merge sort with a comparison that may fail (a user's
/// `foldersort`); std's sorts may panic on an inconsistent order, this one
/// just gives some order. On failure the items come back unsorted.
fn merge_sort<T>(
    items: Vec<T>,
    cmp: &dyn Fn(&T, &T) -> Result<Ordering, String>,
) -> Result<Vec<T>, (Vec<T>, String)> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mut left = items;
    let right = left.split_off(left.len() / 2);
    let left = merge_sort(left, cmp)?;
    let right = match merge_sort(right, cmp) {
        Ok(r) => r,
        Err((mut r, e)) => {
            let mut all = left;
            all.append(&mut r);
            return Err((all, e));
        }
    };
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    let mut failure = None;
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        // Python's sort asks only "b < a?" to keep equal items in order.
        match cmp(b, a) {
            Ok(Ordering::Less) => out.extend(r.next()),
            Ok(_) => out.extend(l.next()),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    out.extend(l);
    out.extend(r);
    match failure {
        None => Ok(out),
        Some(e) => Err((out, e)),
    }
}

#[cfg(test)]
mod tests;
