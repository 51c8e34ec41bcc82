"""A real Dovecot IMAP + LMTP server on free 127.0.0.1 ports, for tests and the benchmark.

Each instance has its own base_dir, state, log, passwd-file and Maildir under one temp folder
(Dovecot 2.3 config has no variables, so the file is written from Python). ``ssl = no`` is
acceptable only because it listens on loopback. ``imap_capability = +MOVE UIDPLUS`` is announced
before login so clients that do not refresh capabilities still use MOVE.
"""

from __future__ import annotations

import glob
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Dovecot:
    POOL = tuple(f"ap{n}" for n in range(1, 401))

    def __init__(self, root: Path | None = None):
        self.root = Path(root or tempfile.mkdtemp(prefix="ap-dovecot-"))
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.process: subprocess.Popen | None = None
        self.users: set[str] = set()
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # Mail is written as nobody (we run as root): the folders must be reachable for it.
        os.chmod(self.root, 0o755)
        for sub in ("mail", "home"):
            shutil.chown(self.root / sub, "nobody", "nogroup")
        # Users are written up front: Dovecot re-reads a changed passwd-file only when its mtime
        # moves, which two additions within one second do not do.
        (self.root / "passwd").write_text(
            "".join(f"{name}:{{PLAIN}}{PASSWORD}::::::\n" for name in self.POOL)
        )
        self._free_users = list(self.POOL)
        self._write_config()

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def _write_config(self) -> None:
        r = self.root
        running_as_root = os.geteuid() == 0
        ids = (
            "mail_uid = nobody\nmail_gid = nogroup\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n"
            if running_as_root
            else ""
        )
        (r / "dovecot.conf").write_text(
            f"""
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
info_log_path = {r}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{r}/mail/%u
{ids}
imap_capability = +MOVE UIDPLUS
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/passwd
}}
userdb {{
  driver = static
  args = home={r}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service imap {{
  process_limit = 64
}}
"""
        )

    def new_user(self) -> str:
        """A mailbox user nobody used yet in this server's life (password ``secret``)."""
        name = self._free_users.pop(0)
        self.users.add(name)
        return name

    def start(self) -> Dovecot:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()} {self.log()}")
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=1) as sock:
                    if sock.recv(200).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"dovecot did not greet within 10 s: {self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def forget_index(self, user: str) -> None:
        """Delete the user's Dovecot index and UID list (server must be stopped): UIDVALIDITY
        changes and UIDs restart at 1, as after a lost or rebuilt index."""
        maildir = self.root / "mail" / user
        # A new UIDVALIDITY is the current time in seconds: cross into the next second so it
        # really differs from the old one.
        time.sleep(1.0 - (time.time() % 1.0) + 0.01)
        for pattern in ("dovecot.index*", "dovecot.list.index*", "dovecot-uidlist", "dovecot-uidvalidity*"):
            for path in glob.glob(str(maildir / "**" / pattern), recursive=True):
                os.remove(path)
            for path in glob.glob(str(maildir / pattern)):
                if os.path.exists(path):
                    os.remove(path)

    def deliver(self, user: str, message: bytes, *, sender: str = "billing@supplier.test") -> None:
        """Deliver one message to ``user``'s INBOX by LMTP (adds realistic delivery headers)."""
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            lmtp.sendmail(sender, [user], message)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot():
    """One real Dovecot per test session (per xdist worker). Tests use their own users."""
    if not os.path.exists(DOVECOT):
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)")
    server = Dovecot().start()
    yield server
    server.cleanup()
