#!/usr/bin/env python3
"""Turn bench/run's raw results into the Markdown report (medians, ratios)."""

import argparse
import os
import statistics
import subprocess

SCENARIOS = [
    ("a", "initial sync"),
    ("b", "no-change resync"),
    ("c", "server 1 % flags + 1 % new + 1 % expunged"),
    ("d", "local 1 % flags + 1 % deleted"),
]
# Issue 5's targets: ours / mbsync wall time, and ours / offlineimap3.
TARGET_MBSYNC = {"a": 0.5, "b": 0.2, "c": 0.5, "d": 0.5}
TARGET_OI3 = 0.1
# Per scenario: the floor rows (scenario key in results.tsv, row name).
FLOORS = {
    "a": [("floor-bodies", "floor (UID FETCH 1:* BODY.PEEK[])")],
    "b": [("floor-flags", "floor (UID FETCH 1:* (UID FLAGS))"),
          ("floor-nochange", "floor (b: LOGIN + STATUS per folder + LOGOUT)")],
    "c": [("floor-c1", "floor (c: QRESYNC SELECT + new bodies), 1 connection"),
          ("floor-c4", "floor (c: QRESYNC SELECT + new bodies), 4 connections")],
    "d": [("floor-d1", "floor (d: STORE + EXPUNGE), 1 connection"),
          ("floor-d4", "floor (d: STORE + EXPUNGE), 4 connections")],
}


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("checks")
    for opt in ("corpus", "count", "gen", "command", "commit", "seed", "tools", "elapsed"):
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("--rtt", default="0")
    a = ap.parse_args()
    rtt = float(a.rtt)
    tools = a.tools.split()

    runs = {}
    for line in open(a.results):
        fields = line.rstrip("\n").split("\t")
        t, s, r, wall, cpu, rss, rc = fields[:7]
        # Dovecot's CPU during the run (added later; absent in old files).
        server = float(fields[7]) if len(fields) > 7 else float("nan")
        runs.setdefault((t, s), []).append(
            (float(wall), float(cpu), int(rss), int(rc), server))
    checks = {}
    for line in open(a.checks):
        t, s, r, text = line.rstrip("\n").split("\t", 3)
        checks.setdefault((t, s), []).append(text)

    def med(t, s, k):
        v = [x[k] for x in runs.get((t, s), []) if x[3] == 0 and x[k] == x[k]]
        return statistics.median(v) if v else None

    def rng(t, s):
        v = [x[0] for x in runs.get((t, s), []) if x[3] == 0]
        return f"{min(v):.3f}-{max(v):.3f}" if v else "-"

    def fails(t, s):
        return sum(1 for x in runs.get((t, s), []) if x[3] != 0)

    def f(x, fmt="{:.2f}"):
        return "fail" if x is None else fmt.format(x)

    out = []
    p = out.append
    p(f"# Side-by-side sync benchmark, {a.corpus} corpus ({sh('date +%Y-%m-%d')})")
    p("")
    p(f"Command: `{a.command.strip()}` (seed {a.seed}), commit {a.commit}; "
      f"the whole run took {int(a.elapsed) // 60} min {int(a.elapsed) % 60} s.")
    mem = sh("awk '/MemTotal/ {printf \"%.0f GiB\", $2 / 1048576}' /proc/meminfo")
    cpu = sh("sed -n 's/^model name\\s*: //p' /proc/cpuinfo | head -n 1")
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    p(f"Machine: {os.cpu_count()} CPUs ({cpu}), {mem} RAM, Linux {sh('uname -r')}; "
      f"load average at the end: {load} "
      "(the machine is shared with other builds: times are medians and still noisy).")
    p(f"Versions: this offlineimap at {a.commit.split()[0]}; {sh('/usr/bin/mbsync --version')}; "
      f"offlineimap3 {sh('/usr/bin/offlineimap --version')}; "
      f"Dovecot {sh('dovecot --version 2>/dev/null || /usr/sbin/dovecot --version')}.")
    p(f"Corpus: {a.gen.replace('genmail: ', '')}, 10 folders "
      "(scripts/dovecot/genmail --folders bench --sizes bench).")
    if rtt > 0:
        p(f"Network: every client (the tools and the floors) reached Dovecot through "
          f"bench/lib/lagproxy.py, which holds each chunk back {rtt / 2:g} ms in each "
          f"direction: {rtt:g} ms more per round trip, throughput not limited. The "
          "mutations and resets went to Dovecot directly.")
    p("All tools: plain IMAP on loopback, no fsync (`fsync = no`, mbsync `FSync no`), "
      "each tool's default concurrency (one connection for mbsync and offlineimap3, "
      "`maxconnections = 4` for ours) unless named: ours-1c is this offlineimap with "
      "`maxconnections = 1`, OfflineIMAP's default. (b) is timed after one untimed "
      "no-change resync. "
      + ("Before every timed run the page cache was dropped and the tool's server "
         "mailbox and local files read back in (bench/run: settle)."
         if os.access("/proc/sys/vm/drop_caches", os.W_OK)
         else "The page cache was not dropped between runs (not root)."))
    p("Times in seconds (wall: from the nanosecond clock around each run, median, min-max "
      "in brackets; CPU: user + system, median); "
      "peak RSS in MiB (median). Server CPU: Dovecot's user + system CPU during the run "
      "(its master's reaped children, before and after; median). Floor = a raw client "
      "reading the same data per folder and writing nothing; for (c) and (d) a raw "
      "client asking only for the changes (examples/imap_floor.rs) on its own copy of "
      "the corpus with the same mutation.")
    p("")
    p("| scenario | tool | wall s | (range) | CPU s | server CPU s | peak RSS MiB | failed runs |")
    p("|---|---|---:|---:|---:|---:|---:|---:|")
    for s, label in SCENARIOS:
        for t in tools:
            if (t, s) not in runs:
                continue
            srv = med(t, s, 4)
            p(f"| {s}: {label} | {t} | {f(med(t, s, 0), '{:.3f}')} | {rng(t, s)} | {f(med(t, s, 1))} | "
              f"{'-' if srv is None else f'{srv:.2f}'} | "
              f"{f(med(t, s, 2), '{:.0f}') if med(t, s, 2) is None else f'{med(t, s, 2) / 1024:.1f}'} "
              f"| {fails(t, s)} |")
        for fl, name in FLOORS.get(s, []):
            if ("floor", fl) not in runs:
                continue
            srv, rss = med("floor", fl, 4), med("floor", fl, 2)
            p(f"| {s}: {label} | {name} "
              f"| {f(med('floor', fl, 0), '{:.3f}')} | {rng('floor', fl)} | {f(med('floor', fl, 1))} | "
              f"{'-' if srv is None else f'{srv:.2f}'} | "
              f"{'fail' if rss is None else f'{rss / 1024:.1f}'} | {fails('floor', fl)} |")
    p("")

    ours = [t for t in tools if t.startswith("ours")]
    p("Ratios of wall time (smaller is better for ours), against issue 5's targets:")
    p("")
    head = "| scenario |"
    rule = "|---|"
    for t in ours:
        head += f" {t} / mbsync (target) | {t} / offlineimap3 (target ≤ {TARGET_OI3}) |"
        rule += "---:|---:|"
    p(head)
    p(rule)
    for s, label in SCENARIOS:
        row = f"| {s}: {label} |"
        for t in ours:
            o = med(t, s, 0)
            for other, target in (("mbsync", TARGET_MBSYNC[s]), ("offlineimap3", TARGET_OI3)):
                m = med(other, s, 0)
                if o is None or not m:
                    row += " - |"
                    continue
                ratio = o / m
                verdict = "met" if ratio <= target else "not met"
                row += (f" {ratio:.2f} (≤ {target}: {verdict}) |" if other == "mbsync"
                        else f" {ratio:.3f} ({verdict}) |")
        p(row)
    floor_lines = []
    for s, label in SCENARIOS:
        if s not in ("b", "c", "d"):
            continue
        m = med("mbsync", s, 0)
        parts = []
        for fl, name in FLOORS[s]:
            if s == "b" and fl != "floor-nochange":
                continue
            x = med("floor", fl, 0)
            if x is not None and m:
                conns = "1" if s == "b" else fl[-1]
                parts.append(f"{conns} connection{'s' if conns != '1' else ''}: "
                             f"{x:.3f} / {m:.3f} = {x / m:.2f}")
        if parts:
            floor_lines.append(f"- {s}: {label}: floor / mbsync = " + "; ".join(parts)
                               + f" (target for ours ≤ {TARGET_MBSYNC[s]})")
    if floor_lines:
        p("")
        p("Floor / mbsync wall time (a raw client asking only for the changes, or for (b) "
          "only logging in and asking each folder's STATUS, examples/imap_floor.rs; the "
          "target is within reach only where this is well under the target ratio):")
        p("")
        for line in floor_lines:
            p(line)
    rss_a = med("ours", "a", 2)
    if rss_a is not None:
        p("")
        p(f"Peak RSS of ours in (a): {rss_a / 1024:.1f} MiB (target ≤ 40 MB: "
          f"{'met' if rss_a * 1024 <= 40e6 else 'not met'}).")
    p("")
    p("Completeness (bench/lib/check.py: the tool's Maildir against the server's, "
      "messages matched by Message-ID, CRLF read as LF), per scenario, last run; "
      "`OK` runs / checked runs:")
    p("")
    p("| tool | scenario | OK runs | last check |")
    p("|---|---|---:|---|")
    for t in tools:
        for s, _ in SCENARIOS:
            c = checks.get((t, s))
            if c:
                ok = sum(1 for x in c if x.endswith(" OK"))
                p(f"| {t} | {s} | {ok}/{len(c)} | {c[-1]} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
