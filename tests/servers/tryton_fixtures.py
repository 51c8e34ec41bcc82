"""pytest fixtures for a real Tryton server.

Use from a test package by importing the fixtures in its ``conftest.py``
(``from tests.servers.tryton_fixtures import tryton_server, tryton_server_process``), as
``erp_integration/tests/conftest.py`` does, or list the module in the root ``pytest_plugins``.
Under pytest-xdist each worker gets its own server (session scope is per worker); the template
database is built once and shared through the cache (see ``tests.servers.tryton``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.tryton import TrytonInstance, TrytonServer, ensure_template


@pytest.fixture(scope="session")
def tryton_server_process() -> Iterator[TrytonServer]:
    """The server object itself, for tests that pause/resume or stop it."""
    try:
        template = ensure_template()
    except RuntimeError as err:  # packages missing: say so instead of erroring every test
        pytest.skip(f"Tryton unavailable: {err}")
    server = TrytonServer(template)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tryton_server(tryton_server_process: TrytonServer) -> TrytonInstance:
    """A running Tryton on 127.0.0.1: url, database, user, password, ids of the template records."""
    return tryton_server_process.instance
