#!/usr/bin/env python3
"""Apply one deterministic "1 % change" to a benchmark mailbox.

    mutate.py server PORT USER SEED [--percent P] [--genmail PATH]
        over IMAP: toggle \\Flagged on P % of all messages, expunge another
        P %, and APPEND P % new messages (generated like genmail's bench
        corpus), spread over the folders.
    mutate.py local MAILDIR SEED [--percent P]
        in a client's Maildir tree: toggle the F flag (a rename) on P % of
        the messages and delete another P %.
    mutate.py local-plan PORT USER SEED CHANGESFILE [--percent P]
        the same choice as "local", made from a server user's messages
        (read over IMAP, nothing changed), written as the lines
        "flag|unflag|delete UIDSET FOLDER" that examples/imap_floor.rs
        local-changes applies: the floor of scenario (d).

Messages are chosen with random.Random(SEED) from a list sorted by a key
every tool shares (folder and UID on the server, Message-ID locally), so two
identical mailboxes get exactly the same change whichever tool filled them.
"""

import argparse
import importlib.machinery
import importlib.util
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap import Imap, quote  # noqa: E402

MSGID = re.compile(rb"^message-id:\s*(<[^>\r\n]*>)", re.I | re.M)


def load_genmail(path):
    loader = importlib.machinery.SourceFileLoader("genmail", path)
    spec = importlib.util.spec_from_loader("genmail", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def uid_set(uids):
    return ",".join(str(u) for u in sorted(uids))


def mutate_server(args):
    genmail = load_genmail(args.genmail)
    rng = random.Random(args.seed)
    imap = Imap(args.port, args.user, "demo")
    every = []
    for folder in imap.folders():
        imap.command(f"SELECT {quote(folder)}")
        every += [(folder, u) for u in imap.uids()]
    n = max(1, round(len(every) * args.percent / 100))
    picked = rng.sample(every, 2 * n)
    by_folder = {}
    for k, (folder, uid) in enumerate(picked):
        by_folder.setdefault(folder, ([], []))[0 if k < n else 1].append(uid)

    for folder in sorted(by_folder):
        flag_uids, gone_uids = by_folder[folder]
        imap.command(f"SELECT {quote(folder)}")
        if flag_uids:
            flagged = set()
            for line, _ in imap.command(f"UID FETCH {uid_set(flag_uids)} (UID FLAGS)"):
                m = re.search(rb"UID (\d+)", line)
                if m and b"\\Flagged" in line:
                    flagged.add(int(m.group(1)))
            on = [u for u in flag_uids if u not in flagged]
            if flagged:
                imap.command(f"UID STORE {uid_set(flagged)} -FLAGS.SILENT (\\Flagged)")
            if on:
                imap.command(f"UID STORE {uid_set(on)} +FLAGS.SILENT (\\Flagged)")
        if gone_uids:
            imap.command(f"UID STORE {uid_set(gone_uids)} +FLAGS.SILENT (\\Deleted)")
            imap.command(f"UID EXPUNGE {uid_set(gone_uids)}")

    # New mail: numbered far above the corpus so Message-IDs never collide.
    folders = [(genmail.mutf7(name), w) for name, w in genmail.BENCH_FOLDERS]
    known = set(f for f, _ in every)
    folders = [(f, w) for f, w in folders if f in known] or [("INBOX", 1)]
    base = 1735689600 + args.seed * 86400  # 2025-01-01 + seed days
    for k in range(n):
        folder = genmail.weighted(rng, folders)
        i = 10_000_000 * (args.seed + 1) + k
        data, date = genmail.make_message(rng, i, folder, base + k * 60, "bench")
        flags = genmail.weighted(rng, genmail.FLAG_CHOICES)
        imap.command(
            f"APPEND {quote(folder)} ({' '.join(flags)}) {quote(date)} {{{len(data)}+}}",
            literal_data=data)
    imap.logout()
    print(f"mutate server: {n} flag changes, {n} expunged, {n} new, of {len(every)}",
          file=sys.stderr)


def message_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if os.path.basename(dirpath) in ("cur", "new"):
            for name in filenames:
                if not name.startswith("."):
                    yield os.path.join(dirpath, name)


def message_id(path):
    with open(path, "rb") as f:
        head = f.read(8192)
    m = MSGID.search(head.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0])
    return m.group(1).decode("ascii", "replace") if m else None


def toggle_f(path):
    d, name = os.path.split(path)
    if ":2," in name:
        base, flags = name.split(":2,", 1)
    else:
        base, flags = name, ""
    flags = flags.replace("F", "") if "F" in flags else "".join(sorted(flags + "F"))
    cur = os.path.join(os.path.dirname(d), "cur")
    os.rename(path, os.path.join(cur, f"{base}:2,{flags}"))


def pick_local(entries, seed, percent):
    """The rule of "local" and "local-plan": entries are (Message-ID, thing),
    sorted; returns (things whose F flag toggles, things deleted)."""
    rng = random.Random(seed)
    entries = sorted(entries)
    n = max(1, round(len(entries) * percent / 100))
    picked = rng.sample(entries, 2 * n)
    return [x for _, x in picked[:n]], [x for _, x in picked[n:]]


def mutate_local(args):
    files = []
    for path in message_files(args.maildir):
        mid = message_id(path)
        if mid is None:
            raise SystemExit(f"mutate: no Message-ID in {path}")
        files.append((mid, path))
    toggled, deleted = pick_local(files, args.seed, args.percent)
    for path in toggled:
        toggle_f(path)
    for path in deleted:
        os.unlink(path)
    print(f"mutate local: {len(toggled)} flag changes, {len(deleted)} deleted, of {len(files)}",
          file=sys.stderr)


FETCH_UID = re.compile(rb"\bUID (\d+)")
FETCH_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")


def local_plan(args):
    imap = Imap(args.port, args.user, "demo")
    entries = []
    for folder in imap.folders():
        imap.command(f"EXAMINE {quote(folder)}")
        for line, lits in imap.command(
                "UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"):
            uid, flags = FETCH_UID.search(line), FETCH_FLAGS.search(line)
            if b" FETCH " not in line or not uid or not flags or not lits:
                continue
            m = MSGID.search(lits[0])
            if m is None:
                raise SystemExit(f"mutate: no Message-ID in {folder} UID {uid.group(1)}")
            flagged = b"\\Flagged" in flags.group(1).split()
            entries.append((m.group(1).decode("ascii", "replace"),
                            (folder, int(uid.group(1)), flagged)))
    imap.logout()
    toggled, deleted = pick_local(entries, args.seed, args.percent)
    sets = {}
    for folder, uid, flagged in toggled:
        sets.setdefault((folder, "unflag" if flagged else "flag"), []).append(uid)
    for folder, uid, _ in deleted:
        sets.setdefault((folder, "delete"), []).append(uid)
    with open(args.changes, "w") as f:
        for (folder, action), uids in sorted(sets.items()):
            f.write(f"{action} {uid_set(uids)} {folder}\n")
    off = sum(1 for _, _, flagged in toggled if flagged)
    print(f"mutate local-plan: {len(toggled)} flag changes ({len(toggled) - off} on, "
          f"{off} off), {len(deleted)} deleted, of {len(entries)}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="where", required=True)
    s = sub.add_parser("server")
    s.add_argument("port", type=int)
    s.add_argument("user")
    s.add_argument("seed", type=int)
    s.add_argument("--percent", type=float, default=1.0)
    s.add_argument("--genmail", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "dovecot", "genmail"))
    loc = sub.add_parser("local")
    loc.add_argument("maildir")
    loc.add_argument("seed", type=int)
    loc.add_argument("--percent", type=float, default=1.0)
    plan = sub.add_parser("local-plan")
    plan.add_argument("port", type=int)
    plan.add_argument("user")
    plan.add_argument("seed", type=int)
    plan.add_argument("changes")
    plan.add_argument("--percent", type=float, default=1.0)
    args = ap.parse_args()
    if args.where == "server":
        mutate_server(args)
    elif args.where == "local-plan":
        local_plan(args)
    else:
        mutate_local(args)


if __name__ == "__main__":
    time.tzset()
    main()
