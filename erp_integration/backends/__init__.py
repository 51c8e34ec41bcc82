"""ERP backends behind one interface (``base.ErpBackend``) and the registry that picks one.

``get_backend()`` returns the backend named by ``settings.AP_ERP_BACKEND``; modules are imported
lazily by dotted path, so a backend whose optional dependencies are missing only fails when it is
chosen, and the registry works before every backend module exists.
"""

from __future__ import annotations

import importlib

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


__all__ = ["BACKENDS", "ErpBackend", "ErpError", "ErpErrorCode", "get_backend"]
