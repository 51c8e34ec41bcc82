"""Fixtures of the approvals tests: a real SMTP server and Django pointed at it, rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals.models import ApprovalRule, ApprovalRuleStep
from tests.servers.smtp import SmtpServer


@pytest.fixture(scope="session")
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server, settings):
    """Django sends through the real SMTP backend to the test server; the inbox starts empty."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = smtp_server.host
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    smtp_server.clear()
    yield smtp_server
    smtp_server.clear()


@pytest.fixture
def two_level_rule(cast):
    """EUR 10k and up: the approver, then the second approver; escalation to the admin."""
    rule = ApprovalRule.objects.create(
        name="Over 10k EUR", priority=10, currency="EUR", min_amount=Decimal("10000"), escalation_user=cast.admin
    )
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_user=cast.approver)
    ApprovalRuleStep.objects.create(rule=rule, level=2, approver_user=cast.second_approver)
    return rule


@pytest.fixture
def single_rule(cast):
    """Below EUR 500: the approver alone, bulk approval allowed, escalation to the admin."""
    rule = ApprovalRule.objects.create(
        name="Small EUR", priority=20, currency="EUR", max_amount=Decimal("500"),
        allow_bulk_approval=True, escalation_user=cast.admin,
    )
    ApprovalRuleStep.objects.create(rule=rule, level=1, approver_user=cast.approver)
    return rule
