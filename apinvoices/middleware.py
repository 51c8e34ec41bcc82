"""Content-Security-Policy on every response.

Scripts load from our own origin only (no inline script, no eval): every template keeps its
JavaScript in ``static/js``. Inline *styles* stay allowed because htmx injects its indicator
style and the admin uses style attributes; a style cannot run code. Frames are limited to our
own origin because the review screen frames the original document. ``frame-ancestors``
follows ``X-Frame-Options`` as set by Django's clickjacking middleware (``DENY`` -> ``'none'``,
``SAMEORIGIN`` from ``@xframe_options_sameorigin`` -> ``'self'``), because browsers that know
CSP ignore X-Frame-Options.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "object-src 'self'",
        "base-uri 'self'",
        "form-action 'self'",
    )
)


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` unless a view already set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response.headers:
            ancestors = "'self'" if response.headers.get("X-Frame-Options") == "SAMEORIGIN" else "'none'"
            response.headers["Content-Security-Policy"] = (
                f"{CONTENT_SECURITY_POLICY}; frame-ancestors {ancestors}"
            )
        return response
