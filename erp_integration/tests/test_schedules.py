"""``manage.py setup_schedules`` creates the ERP schedules, idempotently, as configured."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from erp_integration.schedules import RETRY_DUE_POSTINGS, SYNC_MASTER_DATA, SYNC_PAYMENT_STATUS
from erp_integration.tasks import sync_from_erp, sync_payment_status

pytestmark = pytest.mark.django_db


def erp_schedules() -> dict[str, tuple[str, int]]:
    return {
        name: (func, minutes)
        for name, func, minutes in Schedule.objects.filter(name__startswith="erp-").values_list(
            "name", "func", "minutes")
    }


def test_setup_schedules_creates_the_three_erp_schedules_once(settings):
    settings.AP_ERP_SYNC_MINUTES = 60
    settings.AP_ERP_PAYMENT_STATUS_MINUTES = 30
    call_command("setup_schedules", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())

    assert erp_schedules() == {
        RETRY_DUE_POSTINGS: ("erp_integration.tasks.retry_due_postings", 1),
        SYNC_MASTER_DATA: ("erp_integration.tasks.sync_from_erp", 60),
        SYNC_PAYMENT_STATUS: ("erp_integration.tasks.sync_payment_status", 30),
    }
    assert Schedule.objects.filter(name__startswith="erp-").count() == 3
    assert all(s.repeats == -1 and s.schedule_type == Schedule.MINUTES
               for s in Schedule.objects.filter(name__startswith="erp-"))


def test_changing_the_interval_updates_the_row_and_zero_switches_it_off(settings):
    call_command("setup_schedules", stdout=StringIO())
    settings.AP_ERP_SYNC_MINUTES = 15
    settings.AP_ERP_PAYMENT_STATUS_MINUTES = 0

    call_command("setup_schedules", stdout=StringIO())

    schedules = erp_schedules()
    assert schedules[SYNC_MASTER_DATA] == ("erp_integration.tasks.sync_from_erp", 15)
    assert SYNC_PAYMENT_STATUS not in schedules


def test_the_scheduled_tasks_run_as_no_ops_with_the_default_file_backend(settings, tmp_path):
    """The default backend (file export) has no vendors and no paid status: nothing changes."""
    settings.AP_ERP_BACKEND = "file"
    settings.AP_ERP_EXPORT_DIR = tmp_path
    assert sync_from_erp().startswith("Synced from the ERP: 0 vendors created")
    assert sync_payment_status() == (
        "Payment status read from the ERP: 0 checked, 0 paid, 0 partially paid, 0 skipped.")
