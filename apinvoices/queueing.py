"""Queueing a background task so that it happens if and only if the caller's transaction commits.

With django-q2's ORM broker (the embedded default) the task is a row of the default database:
inserted in the caller's transaction it commits or rolls back with the change it belongs to,
and the worker cannot see it before the commit. A process killed between the commit and an
on-commit hook therefore cannot lose it. Other brokers (Redis) live outside the database: there
the task is queued after the commit, and the caller's own sweep (a scheduled re-queue of rows
stuck in their waiting state) covers the hook that never ran.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction


def queue_is_this_database() -> bool:
    """Whether tasks are rows of the default database (ORM broker, not inline, not Redis)."""
    q = settings.Q_CLUSTER
    return q.get("orm") == "default" and not q.get("sync") and not q.get("redis")


def enqueue_with_transaction(func: str, *args, **kwargs) -> None:
    """``async_task(func, *args, **kwargs)`` bound to the current transaction (see module doc).
    Safe outside a transaction: then the task is queued at once."""
    from django_q.tasks import async_task

    if queue_is_this_database():
        async_task(func, *args, **kwargs)
    else:
        transaction.on_commit(lambda: async_task(func, *args, **kwargs))
