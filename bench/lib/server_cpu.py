#!/usr/bin/env python3
"""Print the CPU time (user + system, in seconds) Dovecot has used so far:
its master process, every live child, and every child already reaped (the
master's cutime/cstime). Per-connection imap and imap-login processes end
with the connection and are counted once reaped; the long-lived auth and
config processes are counted while they live.

Usage: server_cpu.py MASTER_PID_FILE
"""

import os
import sys


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        # Fields after the command name, which may contain spaces.
        return f.read().rsplit(")", 1)[1].split()


def main():
    master = int(open(sys.argv[1]).read().strip())
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            f = stat_fields(entry)
        except OSError:
            continue
        pid, ppid = int(entry), int(f[1])
        if pid == master:
            ticks += sum(int(x) for x in f[11:15])
        elif ppid == master:
            ticks += int(f[11]) + int(f[12])
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.3f}")


if __name__ == "__main__":
    main()
