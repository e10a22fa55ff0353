#!/usr/bin/env python3
"""The floor: what a raw IMAP client needs to read the same data, no disk.

    floor.py PORT USER bodies   # per folder: EXAMINE, UID FETCH 1:* BODY.PEEK[]
    floor.py PORT USER flags    # per folder: EXAMINE, UID FETCH 1:* (UID FLAGS)

Bodies are read and dropped, so this is the server's and the loopback's
share of a sync, plus a little Python parsing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap import Imap, quote  # noqa: E402


def main():
    port, user, what = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    items = "BODY.PEEK[]" if what == "bodies" else "(UID FLAGS)"
    imap = Imap(port, user, "demo")
    messages = size = 0
    for folder in imap.folders():
        imap.command(f"EXAMINE {quote(folder)}")
        for line, lits in imap.command(f"UID FETCH 1:* {items}"):
            if b" FETCH " in line:
                messages += 1
                size += sum(len(x) for x in lits)
    imap.logout()
    print(f"floor {what}: {messages} messages, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
