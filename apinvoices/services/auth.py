"""Login throttling: failed logins are counted per username and per client address.

A username or an address with ``LOGIN_MAX_FAILURES`` failures inside the last
``LOGIN_FAILURE_WINDOW`` seconds is refused until the oldest of those failures leaves the
window. The check runs before the password is looked at, so a throttled attacker learns
nothing, not even whether a guess was right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apinvoices.models import LoginFailure

# Usernames are compared case-insensitively so "Clerk" and "clerk" share one budget.
USERNAME_MAX_LENGTH = 150


@dataclass(frozen=True)
class Throttle:
    """A refusal: when the next attempt will be considered again."""

    retry_at: datetime

    @property
    def retry_after_minutes(self) -> int:
        seconds = (self.retry_at - timezone.now()).total_seconds()
        return max(1, math.ceil(seconds / 60))


def _normalise(username: str) -> str:
    return (username or "").strip().lower()[:USERNAME_MAX_LENGTH]


def _window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)


def login_failure_record(*, username: str, ip_address: str | None) -> LoginFailure:
    """Record one failed login. Always writes exactly one row; never raises for bad input."""
    return LoginFailure.objects.create(username=_normalise(username), ip_address=ip_address or None)


def login_is_throttled(*, username: str, ip_address: str | None) -> Throttle | None:
    """Return a ``Throttle`` if this username or this address used up its failures, else None.

    Two aggregate queries at most; reads only, so it is safe before any password check.
    """
    now = timezone.now()
    since = _window_start(now)
    limit = settings.LOGIN_MAX_FAILURES
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    retry_at = None
    candidates = [Q(username=_normalise(username))] if _normalise(username) else []
    if ip_address:
        candidates.append(Q(ip_address=ip_address))
    for condition in candidates:
        recent = LoginFailure.objects.filter(condition, at__gte=since).order_by("-at")
        # The limit-th newest failure decides when the budget frees up again.
        times = list(recent.values_list("at", flat=True)[:limit])
        if len(times) >= limit:
            candidate_retry = times[-1] + window
            retry_at = candidate_retry if retry_at is None else max(retry_at, candidate_retry)
    return Throttle(retry_at=retry_at) if retry_at else None


def login_failures_clear(*, username: str) -> int:
    """Forget a user's failures after a successful login. Returns the number of rows removed.

    Failures recorded against the client address stay: a guesser who also owns one valid
    account must not be able to reset the address budget by logging in with it.
    """
    deleted, _ = LoginFailure.objects.filter(username=_normalise(username)).delete()
    return deleted


def login_failures_prune(*, older_than: datetime | None = None) -> int:
    """Delete failures that no longer count (outside the window). Safe to run any time."""
    cutoff = older_than or _window_start(timezone.now())
    deleted, _ = LoginFailure.objects.filter(at__lt=cutoff).delete()
    return deleted


__all__ = [
    "Throttle",
    "login_failure_record",
    "login_failures_clear",
    "login_failures_prune",
    "login_is_throttled",
]
