"""Input validation for the approver pages. Business rules live in the services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apinvoices.roles import Role

COMMENT_MAX = 2000


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    comment = forms.CharField(required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class EmailDecisionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 3}))


class BulkApproveForm(forms.Form):
    steps = forms.TypedMultipleChoiceField(coerce=int, choices=(), error_messages={
        "required": _("Tick the invoices you want to approve."),
    })

    def __init__(self, *args, step_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["steps"].choices = [(pk, pk) for pk in step_ids]


class DelegationForm(forms.Form):
    delegate = forms.ModelChoiceField(queryset=get_user_model().objects.none(), label=_("Who approves for you"))
    starts_on = forms.DateField(label=_("First day away"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Last day away"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=_("Note (optional)"), required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = (
            get_user_model().objects.filter(is_active=True, groups__name__in=[Role.APPROVER, Role.ADMIN])
            .exclude(pk=user.pk).distinct().order_by("first_name", "last_name", "username")
        )
        self.fields["delegate"].label_from_instance = lambda u: u.get_full_name() or u.get_username()
        if not self.is_bound:
            self.initial.setdefault("starts_on", timezone.localdate())
