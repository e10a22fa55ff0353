//! Running the Python options that steer message copies: `newmail_hook`
//! (called after unseen mail was downloaded from `INBOX`) and
//! `copy_ignore_eval` (UIDs of a server folder never downloaded). The built-in
//! evaluator runs what it can; anything beyond it goes to the run's
//! `python3`, in a blocking task so that a slow hook holds up no other
//! folder's I/O.

use std::sync::Arc;

use crate::config::{Evaluator, Expr};
use crate::expr;
use crate::pyeval::{self, Python};
use crate::sync::model::Uid;

/// Why calling an option's function failed, for one warning line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{section}] {option}: {message}")]
pub(crate) struct CallError {
    pub section: String,
    pub option: String,
    pub message: String,
}

/// Calls `expr` (a callable) with `args` and returns its value, as Python
/// would. `python` is the run's process, for what the built-in evaluator
/// cannot run; `None` only in values built by hand.
pub(crate) async fn call(
    section: &str,
    expr: &Expr,
    python: Option<Arc<Python>>,
    args: Vec<pyeval::Value>,
) -> Result<pyeval::Value, CallError> {
    let fail = |message: String| CallError {
        section: section.to_owned(),
        option: expr.option.clone(),
        message,
    };
    if let Evaluator::Builtin(e) = &expr.eval {
        let builtin_args: Vec<expr::Value> = args.iter().map(to_builtin).collect();
        match e.call(&expr::Env::offlineimap(), &builtin_args) {
            Ok(v) => return from_builtin(&v).map_err(fail),
            Err(err) if err.is_not_supported() => {}
            Err(err) => return Err(fail(err.to_string())),
        }
    }
    let Some(python) = python else {
        return Err(fail(format!("{} is not available", pyeval::PROGRAM)));
    };
    let source = expr.source().to_owned();
    let request = pyeval::Request::call(source, args);
    let reply = tokio::task::spawn_blocking(move || python.batch(&[request]))
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(|e| fail(e.to_string()))?;
    match reply.into_iter().next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(raised)) => Err(fail(raised)),
        None => Err(fail(format!("no answer from {}", pyeval::PROGRAM))),
    }
}

/// Calls `newmail_hook`: its value, whatever it is, is dropped (a value
/// that cannot be passed back, such as a function, is no error).
pub(crate) async fn newmail_hook(
    section: &str,
    hook: &Expr,
    python: Option<Arc<Python>>,
) -> Result<(), CallError> {
    if let Evaluator::Builtin(e) = &hook.eval {
        match e.call(&expr::Env::offlineimap(), &[]) {
            Ok(_) => return Ok(()),
            Err(err) if !err.is_not_supported() => {
                return Err(CallError {
                    section: section.to_owned(),
                    option: hook.option.clone(),
                    message: err.to_string(),
                });
            }
            Err(_) => {}
        }
    }
    let dropped = Expr {
        option: hook.option.clone(),
        eval: Evaluator::Python(format!("lambda: (({})(), None)[1]", hook.source())),
    };
    call(section, &dropped, python, Vec::new()).await.map(drop)
}

/// The UIDs `copy_ignore_eval` lists for the remote folder whose visible
/// name is `folder`. `None` (OfflineIMAP's "no list") is empty; numbers
/// that cannot be UIDs match nothing and are dropped.
pub(crate) async fn copy_ignore_uids(
    section: &str,
    expr: &Expr,
    python: Option<Arc<Python>>,
    folder: &str,
) -> Result<Vec<Uid>, CallError> {
    let value = call(
        section,
        expr,
        python,
        vec![pyeval::Value::Str(folder.to_owned())],
    )
    .await?;
    uid_list(value).map_err(|message| CallError {
        section: section.to_owned(),
        option: expr.option.clone(),
        message: format!("for folder '{folder}': {message}"),
    })
}

fn uid_list(value: pyeval::Value) -> Result<Vec<Uid>, String> {
    let items = match value {
        pyeval::Value::None => return Ok(Vec::new()),
        pyeval::Value::List(items) => items,
        other => {
            return Err(format!(
                "expected a list of UIDs, got {}",
                other.type_name()
            ));
        }
    };
    let mut uids = Vec::with_capacity(items.len());
    for item in items {
        match item {
            pyeval::Value::Int(n) => uids.extend(Uid::try_from(n).ok()),
            other => {
                return Err(format!(
                    "expected a list of UIDs (numbers), found {}",
                    other.type_name()
                ));
            }
        }
    }
    Ok(uids)
}

fn to_builtin(v: &pyeval::Value) -> expr::Value {
    match v {
        pyeval::Value::None => expr::Value::None,
        pyeval::Value::Bool(b) => expr::Value::Bool(*b),
        pyeval::Value::Int(i) => expr::Value::Int(*i),
        pyeval::Value::Float(f) => expr::Value::Float(*f),
        pyeval::Value::Str(s) => expr::Value::Str(s.clone()),
        pyeval::Value::List(items) => expr::Value::List(items.iter().map(to_builtin).collect()),
    }
}

/// A built-in value as Python would pass it back (tuples and sets become
/// lists); functions and the like cannot be.
fn from_builtin(v: &expr::Value) -> Result<pyeval::Value, String> {
    Ok(match v {
        expr::Value::None => pyeval::Value::None,
        expr::Value::Bool(b) => pyeval::Value::Bool(*b),
        expr::Value::Int(i) => pyeval::Value::Int(*i),
        expr::Value::Float(f) => pyeval::Value::Float(*f),
        expr::Value::Str(s) => pyeval::Value::Str(s.clone()),
        expr::Value::List(items) | expr::Value::Tuple(items) | expr::Value::Set(items) => {
            pyeval::Value::List(items.iter().map(from_builtin).collect::<Result<_, _>>()?)
        }
        other => {
            return Err(format!(
                "it returned {}, which is not a value",
                other.repr()
            ));
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn builtin(option: &str, source: &str) -> Expr {
        Expr::builtin(option, expr::compile(source).unwrap())
    }

    fn block<T>(f: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_builtin_callable_runs_without_python() {
        let e = builtin(
            "copy_ignore_eval",
            "lambda f: [1, 2] if f == 'INBOX' else []",
        );
        let v = block(call(
            "R",
            &e,
            None,
            vec![pyeval::Value::Str("INBOX".into())],
        ))
        .unwrap();
        assert_eq!(
            v,
            pyeval::Value::List(vec![pyeval::Value::Int(1), pyeval::Value::Int(2)])
        );
        let hook = builtin("newmail_hook", "lambda: None");
        block(newmail_hook("R", &hook, None)).unwrap();
    }

    #[test]
    fn copy_ignore_gives_uids_for_the_folder() {
        let e = builtin("copy_ignore_eval", "lambda f: {'INBOX': [3, 5, -1]}.get(f)");
        let uids = |folder: &str| block(copy_ignore_uids("R", &e, None, folder));
        assert_eq!(uids("INBOX").unwrap(), vec![3, 5]);
        assert_eq!(uids("Sent").unwrap(), Vec::<Uid>::new());
        let bad = builtin("copy_ignore_eval", "lambda f: ['3']");
        let err = block(copy_ignore_uids("R", &bad, None, "INBOX")).unwrap_err();
        assert!(err.message.contains("'INBOX'"), "{err}");
        let bad = builtin("copy_ignore_eval", "lambda f: 3");
        assert!(block(copy_ignore_uids("R", &bad, None, "INBOX")).is_err());
    }

    #[test]
    fn an_error_names_section_and_option() {
        let e = builtin("newmail_hook", "lambda: 1 // 0");
        let err = block(newmail_hook("Repository R", &e, None)).unwrap_err();
        assert!(
            err.to_string().starts_with("[Repository R] newmail_hook: "),
            "{err}"
        );
        // Left to python3, which is not there.
        let py = Expr {
            option: "newmail_hook".into(),
            eval: Evaluator::Python("lambda: None".into()),
        };
        let err = block(newmail_hook("Repository R", &py, None)).unwrap_err();
        assert!(err.message.contains("python3"), "{err}");
    }
}
