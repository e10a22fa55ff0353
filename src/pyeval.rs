//! A `python3` subprocess that evaluates Python expressions for the
//! configuration: the `[general] pythonfile` namespace, and any expression
//! the built-in evaluator (`expr`) does not support.
//!
//! One process per run: it is started on first use, loads the pythonfile
//! once, and answers every later request over a pipe (JSON lines, see
//! `pyeval/driver.py`). Requests can be sent in batches so that many calls
//! cost one round trip. Nothing here knows about the configuration; callers
//! put option names into their own messages.

pub(crate) mod json;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use json::Json;

/// The driver the process runs (`python3 -c DRIVER [PYTHONFILE]`).
const DRIVER: &str = include_str!("pyeval/driver.py");

/// The interpreter looked for in `PATH`.
pub const PROGRAM: &str = "python3";

/// A value passed to or returned from Python.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Python lists, tuples and sets.
    List(Vec<Value>),
}

impl Value {
    /// Python's name for the type, for "expected a str, got int" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::List(_) => "list",
        }
    }
}

/// One thing to evaluate: an expression, optionally called with arguments
/// (`lambda` options are called with folder names).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub expr: String,
    pub args: Option<Vec<Value>>,
}

impl Request {
    pub fn eval(expr: impl Into<String>) -> Request {
        Request {
            expr: expr.into(),
            args: None,
        }
    }

    pub fn call(expr: impl Into<String>, args: Vec<Value>) -> Request {
        Request {
            expr: expr.into(),
            args: Some(args),
        }
    }

    fn to_json_line(&self) -> String {
        let mut out = String::from("{\"expr\":");
        json::encode_str(&self.expr, &mut out);
        if let Some(args) = &self.args {
            out.push_str(",\"args\":");
            json::encode_value(&Value::List(args.clone()), &mut out);
        }
        out.push_str("}\n");
        out
    }
}

/// Why Python could not answer at all. An exception raised by one
/// expression is not an `Error`: it is that request's `Err(message)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("{PROGRAM} was not found in PATH (needed to evaluate Python)")]
    NotFound,
    #[error("cannot start {program}: {message}")]
    Spawn { program: PathBuf, message: String },
    /// The pythonfile raised (or did not parse) while loading.
    #[error("{}: {message}", path.display())]
    Pythonfile { path: PathBuf, message: String },
    #[error("{PROGRAM} stopped answering: {0}")]
    Protocol(String),
}

/// The evaluation process, started on first use.
pub struct Python {
    program: Option<PathBuf>,
    pythonfile: Option<PathBuf>,
    state: Mutex<State>,
}

enum State {
    NotStarted,
    Running(Process),
    /// Starting failed or the process died; every later call fails the same
    /// way instead of starting it again.
    Failed(Error),
}

struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl std::fmt::Debug for Python {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Python")
            .field("program", &self.program)
            .field("pythonfile", &self.pythonfile)
            .finish_non_exhaustive()
    }
}

/// Looks `program` up in a `PATH` value, as a shell would.
pub fn find_in_path(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    std::env::split_paths(&OsString::from(path_var?))
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Python {
    /// An evaluator that will run `python3` from `path_var` (a `PATH`
    /// value) and load `pythonfile`, if given, into the namespace every
    /// expression sees (besides `re` and `os`). Nothing starts yet.
    pub fn new(pythonfile: Option<PathBuf>, path_var: Option<&str>) -> Python {
        Python::with_program(find_in_path(PROGRAM, path_var), pythonfile)
    }

    /// Like [`Python::new`] with the interpreter given (`None`: not found).
    pub fn with_program(program: Option<PathBuf>, pythonfile: Option<PathBuf>) -> Python {
        Python {
            program,
            pythonfile,
            state: Mutex::new(State::NotStarted),
        }
    }

    pub fn pythonfile(&self) -> Option<&Path> {
        self.pythonfile.as_deref()
    }

    /// Whether the process has been started (for tests and diagnostics).
    pub fn started(&self) -> bool {
        matches!(
            *self.state.lock().unwrap_or_else(|e| e.into_inner()),
            State::Running(_)
        )
    }

    /// Evaluates one expression.
    pub fn eval(&self, expr: &str) -> Result<Result<Value, String>, Error> {
        let mut replies = self.batch(&[Request::eval(expr)])?;
        replies
            .pop()
            .ok_or_else(|| Error::Protocol("no reply".to_owned()))
    }

    /// Evaluates every request in one round trip; each reply is the value
    /// or the one-line Python exception (`KeyError: 'work'`).
    pub fn batch(&self, requests: &[Request]) -> Result<Vec<Result<Value, String>>, Error> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if matches!(*state, State::NotStarted) {
            *state = match self.start() {
                Ok(p) => State::Running(p),
                Err(e) => State::Failed(e),
            };
        }
        let process = match &mut *state {
            State::Running(p) => p,
            State::Failed(e) => return Err(e.clone()),
            State::NotStarted => return Err(Error::Protocol("not started".to_owned())),
        };
        match exchange(process, requests) {
            Ok(replies) => Ok(replies),
            Err(e) => {
                if let State::Running(mut p) =
                    std::mem::replace(&mut *state, State::Failed(e.clone()))
                {
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                }
                Err(e)
            }
        }
    }

    fn start(&self) -> Result<Process, Error> {
        let program = self.program.clone().ok_or(Error::NotFound)?;
        let mut cmd = Command::new(&program);
        cmd.arg("-c").arg(DRIVER);
        if let Some(file) = &self.pythonfile {
            cmd.arg(file);
        }
        // The pythonfile's own prints go to our stderr, as with OfflineIMAP.
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().map_err(|e| Error::Spawn {
            program: program.clone(),
            message: e.to_string(),
        })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::Protocol("no pipes".to_owned()));
        };
        let mut process = Process {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        };
        let first = read_object(&mut process.stdout);
        let fatal = match first {
            Ok(map) if map.get("ready") == Some(&Json::Bool(true)) => return Ok(process),
            Ok(map) => match map.get("fatal") {
                Some(Json::Str(message)) => Error::Pythonfile {
                    path: self.pythonfile.clone().unwrap_or_default(),
                    message: message.clone(),
                },
                _ => Error::Protocol("unexpected first reply".to_owned()),
            },
            Err(e) => e,
        };
        let _ = process.child.kill();
        let _ = process.child.wait();
        Err(fatal)
    }
}

fn exchange(p: &mut Process, requests: &[Request]) -> Result<Vec<Result<Value, String>>, Error> {
    let text: String = requests.iter().map(Request::to_json_line).collect();
    // Requests are small and the driver answers each before reading the
    // next, so writing them all first could only block on a pipe buffer
    // for huge batches; write and read in chunks to stay clear of that.
    let mut replies = Vec::with_capacity(requests.len());
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for chunk in lines.chunks(64) {
        p.stdin
            .write_all(chunk.concat().as_bytes())
            .and_then(|()| p.stdin.flush())
            .map_err(|e| Error::Protocol(e.to_string()))?;
        for _ in chunk {
            let map = read_object(&mut p.stdout)?;
            let reply = match (map.get("ok"), map.get("error")) {
                (Some(v), _) => Ok(v.clone().into_value().map_err(Error::Protocol)?),
                (None, Some(Json::Str(m))) => Err(m.clone()),
                _ => return Err(Error::Protocol("malformed reply".to_owned())),
            };
            replies.push(reply);
        }
    }
    Ok(replies)
}

fn read_object(
    out: &mut BufReader<ChildStdout>,
) -> Result<std::collections::BTreeMap<String, Json>, Error> {
    let mut line = String::new();
    match out.read_line(&mut line) {
        Ok(0) => return Err(Error::Protocol("the process exited".to_owned())),
        Ok(_) => {}
        Err(e) => return Err(Error::Protocol(e.to_string())),
    }
    match json::decode(line.trim_end()) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Protocol("a reply is not an object".to_owned())),
        Err(e) => Err(Error::Protocol(format!("unreadable reply: {e}"))),
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let State::Running(p) = std::mem::replace(state, State::NotStarted) {
            let Process {
                mut child,
                stdin,
                stdout,
            } = p;
            // Closing stdin ends the driver's loop.
            drop(stdin);
            drop(stdout);
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests;
