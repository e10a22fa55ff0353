#!/usr/bin/env python3
"""The disk floor: what writing the corpus into a Maildir costs, no IMAP.

    floor_disk.py SOURCE_MAILDIR DEST_DIR

Every message file of SOURCE_MAILDIR (the server's own copy of the corpus)
is read into memory first (not timed); then each is written into
DEST_DIR/<folder>/tmp/, given an mtime and renamed into cur/: the file
system's share of an initial sync, the same steps every Maildir tool takes
per message, plus a little Python. No fsync, as in the benchmark's tools.
Prints the wall and CPU time of the writing alone.
"""

import os
import resource
import sys
import time


def main():
    src, dest = sys.argv[1], sys.argv[2]
    corpus = []
    for root, dirs, files in os.walk(src):
        dirs.sort()
        if os.path.basename(root) not in ("cur", "new"):
            continue
        folder = os.path.relpath(os.path.dirname(root), src)
        bodies = []
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                bodies.append(f.read())
        corpus.append((folder, bodies))
    messages = size = 0
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    for folder, bodies in corpus:
        out = os.path.join(dest, folder)
        for sub in ("tmp", "cur", "new"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)
        for body in bodies:
            tmp = os.path.join(out, "tmp", f"{messages}.floor")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, body)
            os.utime(fd, (1700000000, 1700000000))
            os.close(fd)
            os.rename(tmp, os.path.join(out, "cur", f"{messages}.floor:2,"))
            messages += 1
            size += len(body)
    r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    print(f"floor disk: {messages} messages, {size} bytes written in {t1 - t0:.2f} s "
          f"(user {r1.ru_utime - r0.ru_utime:.2f} s, system {r1.ru_stime - r0.ru_stime:.2f} s)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
