"""A minimal IMAP client for the benchmark helpers (mutate, floor).

Reads literals properly, so that message bodies never confuse the reply
parser. Python standard library only; loopback plain-text logins only.
"""

import re
import socket

LITERAL = re.compile(rb"\{(\d+)\}\r\n$")
LIST_LINE = re.compile(rb'^\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (.*)\r\n$')


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Imap:
    def __init__(self, port, user, password, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=300)
        self.rfile = self.sock.makefile("rb", buffering=1 << 20)
        self.n = 0
        greeting = self.rfile.readline()
        if not greeting.startswith(b"* OK"):
            raise SystemExit(f"imap: unexpected greeting {greeting!r}")
        self.command(f"LOGIN {quote(user)} {quote(password)}")

    def read_response(self):
        """One response line with its literals inlined as (line parts, literals)."""
        line = self.rfile.readline()
        if not line:
            raise SystemExit("imap: server closed the connection")
        parts, literals = [line], []
        while True:
            m = LITERAL.search(parts[-1])
            if not m:
                return b"".join(parts), literals
            literals.append(self.rfile.read(int(m.group(1))))
            parts.append(self.rfile.readline())

    def command(self, text, literal_data=None):
        """Send a command; return [(line, literals)] of the untagged replies."""
        self.n += 1
        tag = f"b{self.n}".encode()
        self.sock.sendall(tag + b" " + text.encode("utf-8") + b"\r\n")
        if literal_data is not None:
            self.sock.sendall(literal_data + b"\r\n")
        out = []
        while True:
            line, lits = self.read_response()
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise SystemExit(f"imap: {text.split(' ')[0]} failed: {line!r}")
                return out
            out.append((line, lits))

    def folders(self):
        names = []
        for line, lits in self.command('LIST "" "*"'):
            m = LIST_LINE.match(line) if not lits else None
            if lits:
                names.append(lits[0].decode("ascii"))
                continue
            if not m or b"\\Noselect" in m.group(1) or b"\\NonExistent" in m.group(1):
                continue
            name = m.group(2)
            if name.startswith(b'"'):
                name = name[1:-1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
            names.append(name.decode("ascii"))
        return sorted(names)

    def uids(self):
        uids = []
        for line, _ in self.command("UID SEARCH ALL"):
            if line.startswith(b"* SEARCH"):
                uids += [int(x) for x in line.split()[2:]]
        return sorted(uids)

    def logout(self):
        try:
            self.command("LOGOUT")
        except SystemExit:
            pass
        self.sock.close()
