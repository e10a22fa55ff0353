//! Tests against the real `python3` (the test machine has one; a missing
//! interpreter fails these tests rather than skipping them).

#![allow(clippy::unwrap_used)] // Tests may unwrap (house rules).

use super::*;

fn path_var() -> Option<String> {
    std::env::var("PATH").ok()
}

fn python(file: Option<PathBuf>) -> Python {
    let p = Python::new(file, path_var().as_deref());
    assert!(
        p.program.is_some(),
        "python3 must be installed to run these tests"
    );
    p
}

#[test]
fn evaluates_without_a_pythonfile() {
    let p = python(None);
    assert!(!p.started(), "starts lazily");
    assert_eq!(
        p.eval("'a' + 'b'").unwrap(),
        Ok(Value::Str("ab".to_owned()))
    );
    assert!(p.started());
    assert_eq!(
        p.eval("re.sub('x', 'y', 'axa')").unwrap(),
        Ok(Value::Str("aya".to_owned()))
    );
    assert_eq!(
        p.eval("os.path.join('a', 'b')").unwrap(),
        Ok(Value::Str("a/b".to_owned()))
    );
    assert_eq!(
        p.eval("(1, True, None, 2.5, b'\\xc3\\xa9')").unwrap(),
        Ok(Value::List(vec![
            Value::Int(1),
            Value::Bool(true),
            Value::None,
            Value::Float(2.5),
            Value::Str("é".to_owned())
        ]))
    );
    let err = p.eval("undefined_name").unwrap().unwrap_err();
    assert_eq!(err, "NameError: name 'undefined_name' is not defined");
    let err = p.eval("{1: 2}").unwrap().unwrap_err();
    assert!(err.contains("cannot be passed back"), "{err}");
    // After errors the same process still answers.
    assert_eq!(p.eval("1 + 1").unwrap(), Ok(Value::Int(2)));
}

#[test]
fn pythonfile_namespace_calls_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("helpers.conf"); // any extension, as OfflineIMAP
    std::fs::write(
        &file,
        "import sys\n\
         print('loading')  # must not disturb the protocol\n\
         calls = []\n\
         def get_password(name):\n\
         \x20   calls.append(name)\n\
         \x20   return {'work': 'pa\"ss\\nword é'}[name]\n",
    )
    .unwrap();
    let p = python(Some(file));
    let replies = p
        .batch(&[
            Request::eval("get_password('work')"),
            Request::eval("get_password('nope')"),
            Request::call(
                "lambda f: f.startswith('INBOX')",
                vec![Value::Str("INBOX.x".into())],
            ),
            Request::eval("len(calls)"),
        ])
        .unwrap();
    assert_eq!(
        replies,
        vec![
            Ok(Value::Str("pa\"ss\nword é".to_owned())),
            Err("line 6: KeyError: 'nope'".to_owned()),
            Ok(Value::Bool(true)),
            Ok(Value::Int(2)),
        ]
    );
    // The namespace persists between batches: one process per run.
    assert_eq!(p.eval("len(calls)").unwrap(), Ok(Value::Int(2)));
}

#[test]
fn many_requests_in_one_batch() {
    let p = python(None);
    let reqs: Vec<Request> = (0..300)
        .map(|i| Request::call("lambda n: n * 2", vec![Value::Int(i)]))
        .collect();
    let replies = p.batch(&reqs).unwrap();
    assert_eq!(replies.len(), 300);
    assert_eq!(replies[299], Ok(Value::Int(598)));
}

#[test]
fn broken_pythonfile_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.py");
    std::fs::write(&file, "x = 1\ny = undefined\n").unwrap();
    let p = python(Some(file.clone()));
    let err = p.eval("x").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 2: NameError: name 'undefined' is not defined",
            file.display()
        )
    );
    // Failing once fails every later call the same way, without restarting.
    assert_eq!(p.eval("x").unwrap_err(), err);

    std::fs::write(&file, "def f(:\n").unwrap();
    let err = python(Some(file.clone()))
        .eval("1")
        .unwrap_err()
        .to_string();
    assert!(err.contains("SyntaxError"), "{err}");

    let missing = dir.path().join("missing.py");
    let err = python(Some(missing)).eval("1").unwrap_err().to_string();
    assert!(err.contains("FileNotFoundError"), "{err}");
}

#[test]
fn missing_python3() {
    let dir = tempfile::tempdir().unwrap();
    let p = Python::new(None, Some(dir.path().to_str().unwrap()));
    assert_eq!(p.eval("1").unwrap_err(), Error::NotFound);
    assert_eq!(
        Error::NotFound.to_string(),
        "python3 was not found in PATH (needed to evaluate Python)"
    );
    assert_eq!(find_in_path("python3", None), None);
}
