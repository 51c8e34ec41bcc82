"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd's ``Controller`` in a thread.

It speaks SMTP over a real socket and keeps the raw bytes of every message it accepts, so
tests read back exactly what Django put on the wire.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


# Recipients in this domain are refused with 550 at RCPT time.
REFUSED_DOMAIN = "refused.test"


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    def parsed(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class _Collector:
    def __init__(self) -> None:
        self.messages: list[ReceivedMessage] = []
        self._cond = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        # Like a real server for an unknown mailbox: tests use this domain to make delivery fail.
        if address.lower().endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        with self._cond:
            self.messages.append(
                ReceivedMessage(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content))
            )
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float) -> list[ReceivedMessage]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return list(self.messages)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """Start with :meth:`start`, read ``host``/``port``, collect ``messages``, :meth:`stop`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self._collector = _Collector()
        self.port = _free_port()
        # decode_data=False keeps the bytes as sent; original_content is the unmodified DATA.
        self._controller = Controller(self._collector, hostname=self.host, port=self.port, decode_data=False)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[ReceivedMessage]:
        return list(self._collector.messages)

    def clear(self) -> None:
        self._collector.messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Messages received so far, waiting up to ``timeout`` seconds for ``count`` of them."""
        return self._collector.wait_for(count, timeout)


if __name__ == "__main__":  # pragma: no cover - manual use: print what arrives
    server = SmtpServer().start()
    print(f"SMTP on {server.host}:{server.port}; Ctrl-C to stop")
    try:
        while True:
            time.sleep(1)
    finally:
        server.stop()
