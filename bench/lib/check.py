#!/usr/bin/env python3
"""Compare a client's Maildir tree with the server's (Dovecot's own Maildir).

    check.py SERVER_MAILDIR CLIENT_MAILDIR

Messages are matched by Message-ID. For each server message the client must
hold exactly one copy with the same body and the same flags (the standard
Maildir letters D F P R S T). Both sides are compared with CRLF turned into
LF. Prints one line of counts; a whole-message byte difference is counted
separately from a body difference, because a tool may legitimately add a
header (mbsync adds X-TUID to messages it uploads). Exit status 0 when
complete (no message missing, extra, duplicated, with a different body or
different flags), 1 otherwise.
"""

import hashlib
import os
import re
import sys

MSGID = re.compile(rb"^message-id:\s*(<[^>\r\n]*>)", re.I | re.M)


def files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.basename(dirpath) in ("cur", "new"):
            for name in filenames:
                if not name.startswith("."):
                    yield os.path.join(dirpath, name), name


def scan(root):
    out = {}
    dups = 0
    for path, name in files(root):
        with open(path, "rb") as f:
            data = f.read().replace(b"\r\n", b"\n")
        head, _, body = data.partition(b"\n\n")
        m = MSGID.search(head)
        mid = m.group(1) if m else b"?" + path.encode()
        flags = "".join(sorted(c for c in name.split(":2,", 1)[1] if c in "DFPRST")) \
            if ":2," in name else ""
        entry = (hashlib.sha1(data).digest(), hashlib.sha1(body).digest(), flags, head)
        if mid in out:
            dups += 1
        out[mid] = entry
    return out, dups


def first_header_difference(a, b):
    la, lb = a.split(b"\n"), b.split(b"\n")
    sa, sb = set(la), set(lb)
    extra = [x for x in lb if x not in sa][:1]
    missing = [x for x in la if x not in sb][:1]
    return (extra and "client adds " + extra[0][:60].decode("utf-8", "replace")) or \
        (missing and "client lacks " + missing[0][:60].decode("utf-8", "replace")) or \
        "header order or folding"


def main():
    server, _ = scan(sys.argv[1])
    client, dups = scan(sys.argv[2])
    missing = [m for m in server if m not in client]
    extra = [m for m in client if m not in server]
    body_diff = flag_diff = bytes_diff = 0
    example = ""
    for mid, (full, body, flags, head) in server.items():
        c = client.get(mid)
        if c is None:
            continue
        if c[1] != body:
            body_diff += 1
        if c[2] != flags:
            flag_diff += 1
        if c[0] != full:
            bytes_diff += 1
            if not example and c[1] == body:
                example = first_header_difference(head, c[3])
    ok = not (missing or extra or dups or body_diff or flag_diff)
    print(f"server {len(server)} client {len(client)} missing {len(missing)} extra {len(extra)} "
          f"duplicates {dups} body-differs {body_diff} flags-differ {flag_diff} "
          f"bytes-differ {bytes_diff}" + (f" ({example})" if example else "")
          + (" OK" if ok else " INCOMPLETE"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
