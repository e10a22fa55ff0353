# Evaluation server for offlineimap's `pythonfile` and the Python
# expressions its built-in evaluator cannot handle. Started once per run by
# src/pyeval.rs as `python3 -c <this> [PYTHONFILE]`.
#
# Protocol (one JSON object per line, UTF-8):
#   first reply:  {"ready": true}  or  {"fatal": "one-line message"}
#   request:      {"expr": "...", "args": [...]}   ("args" optional: call
#                 the expression's value with them)
#   reply:        {"ok": VALUE}  or  {"error": "one-line message"}
# VALUE is None, a bool, an int, a float, a str or a list of VALUEs
# (tuples and sets become lists, bytes are decoded as UTF-8).
import json
import os
import signal
import sys
import traceback

# Ctrl-C reaches the whole process group; offlineimap decides what it
# means, and this process ends when its stdin closes.
signal.signal(signal.SIGINT, signal.SIG_IGN)

# Keep the real stdout for replies; anything the pythonfile prints goes to
# stderr so it cannot corrupt the protocol.
_replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)
sys.stdout = sys.stderr


def _send(obj):
    _replies.write(json.dumps(obj, ensure_ascii=True, allow_nan=False) + "\n")
    _replies.flush()


def _one_line(text):
    return " ".join(str(text).split())


def _describe(exc, path=None):
    message = "%s: %s" % (type(exc).__name__, _one_line(exc))
    if isinstance(exc, SyntaxError):
        return message
    if path is not None:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
                 if f.filename == path]
        if lines:
            message = "line %d: %s" % (lines[-1], message)
    return message


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [_plain(v) for v in sorted(value, key=repr)]
    raise TypeError("a result of type %s cannot be passed back"
                    % type(value).__name__)


def _main():
    import re  # noqa: F401  (part of the namespace, as in OfflineIMAP)
    namespace = {"re": re, "os": os, "__name__": "offlineimap_pythonfile",
                 "__builtins__": __builtins__}
    path = sys.argv[1] if len(sys.argv) > 1 else None
    if path is not None:
        namespace["__file__"] = path
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
            exec(compile(source, path, "exec"), namespace)
        except BaseException as exc:  # report anything, even SystemExit
            _send({"fatal": _describe(exc, path)})
            return
    _send({"ready": True})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            value = eval(request["expr"], namespace)
            if "args" in request:
                value = value(*request["args"])
            reply = {"ok": _plain(value)}
            json.dumps(reply, allow_nan=False)
        except BaseException as exc:
            reply = {"error": _describe(exc, path)}
        _send(reply)


_main()
