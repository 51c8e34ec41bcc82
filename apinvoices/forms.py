"""Input validation and cleaning only (STYLE.md §1): the login form and the inbox filters."""

from __future__ import annotations

import ipaddress

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apinvoices.models import Invoice, Vendor
from apinvoices.selectors import WORK_TAB
from apinvoices.services.auth import (
    login_failure_record,
    login_failures_clear,
    login_is_throttled,
)



def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or with ``AP_TRUSTED_PROXY_COUNT`` = n > 0 the n-th
    entry from the right of X-Forwarded-For (entries further left are client-supplied and could
    be forged). Returns None when no valid address is known."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR") or ""
    proxies = getattr(settings, "AP_TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            address = hops[-proxies]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refusing early once a username or address used up its failures."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The username or password is wrong. Check both (the password is case-sensitive) "
            "and try again."
        ),
        "throttled": _("Too many failed attempts; try again in %(minutes)s."),
    }

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip_address = client_ip(self.request)
        throttle = login_is_throttled(username=username, ip_address=ip_address)
        if throttle is not None:
            minutes = throttle.retry_after_minutes
            raise ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"minutes": ngettext("%d minute", "%d minutes", minutes) % minutes},
            )
        try:
            cleaned = super().clean()
        except ValidationError as err:
            if any(e.code == "invalid_login" for e in err.error_list):
                login_failure_record(username=username, ip_address=ip_address)
            raise
        login_failures_clear(username=username)
        return cleaned


SEARCH_MIN_LENGTH = 3


class PlainSelect(forms.Select):
    """A single-choice select rendered in Python.

    Same HTML as ``forms.Select``; Django renders each ``<option>`` through a template, which
    with a few hundred vendors was most of the inbox's CPU time (see bench/load.py).
    """

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (str(option), mark_safe(" selected") if str(option) in chosen else "", label)
                for option, label in self.choices
            ),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options)


class InboxFilterForm(forms.Form):
    """The inbox's GET filters. Invalid values are dropped (the page never errors on a URL)."""

    q = forms.CharField(
        required=False,
        max_length=100,
        # Guard: a search reads every invoice (substring match, no index can serve it) for the
        # rows and again for the tab counts; one or two characters match nearly everything
        # and narrow nothing, so they are refused with a hint instead of costing that scan.
        min_length=SEARCH_MIN_LENGTH,
        error_messages={"min_length": _("type at least %(limit_value)d characters (invoice number or vendor name).")},
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Invoice number or vendor"), "type": "search"}),
    )
    state = forms.ChoiceField(required=False, widget=forms.HiddenInput)
    vendor = forms.ModelChoiceField(
        queryset=Vendor.objects.only("pk", "name").order_by("name"),
        required=False,
        empty_label=_("All vendors"),
        label=_("Vendor"),
        widget=PlainSelect(attrs={"class": "form-select form-select-sm"}),
    )
    issued_from = forms.DateField(
        required=False, label=_("Issued from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    issued_to = forms.DateField(
        required=False, label=_("Issued to"), widget=forms.DateInput(attrs={"type": "date"})
    )
    amount_min = forms.DecimalField(
        required=False, min_value=0, max_digits=18, decimal_places=3, label=_("Total from"),
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": _("min")}),
    )
    amount_max = forms.DecimalField(
        required=False, min_value=0, max_digits=18, decimal_places=3, label=_("Total to"),
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": _("max")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [("", _("All")), (WORK_TAB, _("Open work")), *Invoice.State.choices]

    def clean(self):
        cleaned = super().clean()
        lo, hi = cleaned.get("issued_from"), cleaned.get("issued_to")
        if lo and hi and lo > hi:
            self.add_error("issued_to", _("The end date is before the start date."))
        lo, hi = cleaned.get("amount_min"), cleaned.get("amount_max")
        if lo is not None and hi is not None and lo > hi:
            self.add_error("amount_max", _("The maximum is below the minimum."))
        return cleaned

    def filters(self) -> dict:
        """The valid filters as a plain dict; invalid fields are left out, not guessed."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            name: value
            for name, value in data.items()
            if name not in self.errors and value not in (None, "")
        }
