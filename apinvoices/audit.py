"""Attributing django-auditlog history to the person (or task) behind a change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from auditlog.context import auditlog_value, set_actor


@contextmanager
def audit_actor(actor) -> Iterator[None]:
    """Attribute auditlog entries written inside the block to ``actor``.

    Safe to nest inside auditlog's middleware or another ``audit_actor``: auditlog 3.4's
    ``set_actor`` overwrites its context without restoring it, so a nested use would leave the
    outer signal receiver connected for ever. We restore the outer context afterwards, so the
    outer block disconnects its own receiver when it ends.
    """
    if actor is None:
        yield
        return
    outer = auditlog_value.get(None)
    try:
        with set_actor(actor):
            yield
    finally:
        if outer is not None:
            auditlog_value.set(outer)
