"""Date sanity: due before issue, issue date in the future, very old invoices, weekends."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from apinvoices.checks import Check, Finding, Kind, Severity, register
from apinvoices.models import Invoice

# Older than this and an invoice is probably misdated, or a late reminder of a paid one.
VERY_OLD_DAYS = 365
# Vendors in other time zones may date an invoice "tomorrow" from our point of view.
FUTURE_GRACE_DAYS = 1


@register
class DatesCheck(Check):
    kinds = (Kind.DATES,)

    def run(self, invoice: Invoice):
        today = timezone.localdate()
        issue, due = invoice.issue_date, invoice.due_date
        if issue and due and due < issue:
            yield Finding(
                kind=Kind.DATES, key="due_before_issue", severity=Severity.BLOCKING,
                message=_("The due date %(due)s is before the invoice date %(issue)s. One of them is misread.")
                % {"due": due, "issue": issue},
                params={"issue_date": issue.isoformat(), "due_date": due.isoformat()},
            )
        if issue and issue > today + timedelta(days=FUTURE_GRACE_DAYS):
            yield Finding(
                kind=Kind.DATES, key="issue_in_future", severity=Severity.BLOCKING,
                message=_("The invoice date %(issue)s is in the future. Check the date on the original.")
                % {"issue": issue},
                params={"issue_date": issue.isoformat()},
            )
        if issue and issue < today - timedelta(days=VERY_OLD_DAYS):
            yield Finding(
                kind=Kind.DATES, key="very_old", severity=Severity.WARNING,
                message=_("The invoice is dated %(issue)s, more than a year ago. It may be paid already.")
                % {"issue": issue},
                params={"issue_date": issue.isoformat()},
            )
        if issue and issue.weekday() >= 5:
            yield Finding(
                kind=Kind.DATES, key="weekend", severity=Severity.WARNING,
                message=_("The invoice is dated on a weekend (%(issue)s). Unusual for this kind of vendor?")
                % {"issue": issue},
                params={"issue_date": issue.isoformat()},
            )
