"""ERP backends behind one interface (``base.ErpBackend``) and the registry that picks one.

``get_backend()`` returns the backend named by ``settings.AP_ERP_BACKEND``; modules are imported
lazily by dotted path, so a backend whose optional dependencies are missing only fails when it is
chosen, and the registry works before every backend module exists.
"""

from __future__ import annotations

import importlib
import threading
import time

from erp_integration.backends.base import ErpBackend, ErpError, ErpErrorCode

BACKENDS: dict[str, str] = {
    "file": "erp_integration.backends.fileexport.FileExportBackend",
    "tryton": "erp_integration.backends.tryton.TrytonBackend",
    "quickbooks": "erp_integration.backends.quickbooks.QuickBooksBackend",
    "xero": "erp_integration.backends.xero.XeroBackend",
}


def get_backend(name: str | None = None) -> ErpBackend:
    """A new backend instance for ``name`` (default: ``settings.AP_ERP_BACKEND``).

    Raises ErpError(NOT_CONFIGURED) for an unknown name or a backend that cannot be imported.
    """
    if name is None:
        from django.conf import settings

        name = settings.AP_ERP_BACKEND
    dotted = BACKENDS.get(name)
    if dotted is None:
        raise ErpError(
            ErpErrorCode.NOT_CONFIGURED,
            f"Unknown ERP backend {name!r}; choose one of {', '.join(sorted(BACKENDS))}",
        )
    module_name, _, class_name = dotted.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as err:
        raise ErpError(
            ErpErrorCode.NOT_CONFIGURED, f"ERP backend {name!r} is not available: {err}"
        ) from err
    return cls()


_worker = threading.local()


def worker_backend(name: str | None = None) -> ErpBackend:
    """The backend for ``name``, reused by this thread's later task runs when it is
    ``reusable`` (a Tryton session and the configuration read at login cost the ERP about half
    a CPU-second, as much as a posting itself: bench/README.md).

    A reused instance is dropped after ``AP_ERP_SESSION_SECONDS``, when the settings it was made
    from change, or by ``forget_worker_backend`` (call it after any failure, so the next run
    logs in and reads the ERP's configuration afresh).
    """
    from django.conf import settings

    if name is None:
        name = settings.AP_ERP_BACKEND
    cache: dict = _worker.__dict__.setdefault("backends", {})
    fresh = get_backend(name)
    if not fresh.reusable:
        return fresh
    entry = cache.get(name)
    now = time.monotonic()
    if entry is not None:
        backend, born = entry
        if now - born < settings.AP_ERP_SESSION_SECONDS and backend.settings_key() == fresh.settings_key():
            return backend
    cache[name] = (fresh, now)
    return fresh


def forget_worker_backend(name: str | None = None) -> None:
    """Drop this thread's reused backend for ``name`` (all of them when None)."""
    cache: dict = _worker.__dict__.setdefault("backends", {})
    if name is None:
        cache.clear()
    else:
        cache.pop(name, None)


__all__ = ["BACKENDS", "ErpBackend", "ErpError", "ErpErrorCode", "forget_worker_backend", "get_backend",
           "worker_backend"]
