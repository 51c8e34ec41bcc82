"""Fixtures for ERP backend tests.

The Tryton server fixtures live in ``tests/servers/tryton_fixtures.py``. pytest refuses
``pytest_plugins`` outside the root conftest, so a test package imports the fixtures by name (as
here), or the root conftest lists ``"tests.servers.tryton_fixtures"`` in ``pytest_plugins``.
"""

from tests.servers.tryton_fixtures import tryton_server, tryton_server_process  # noqa: F401
