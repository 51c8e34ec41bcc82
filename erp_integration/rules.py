"""Who may see and act on ERP postings, sync and payment runs (django-rules, autodiscovered)."""

from __future__ import annotations

import rules

from apinvoices.rules import is_ap_admin, is_auditor, is_staff_role

rules.add_perm("erp_integration.view_postings", is_staff_role | is_auditor)
rules.add_perm("erp_integration.retry_posting", is_staff_role)
rules.add_perm("erp_integration.sync_erp", is_staff_role)
# Payment runs: auditors read; clerks and AP admins propose, approve (not their own: four eyes,
# enforced by the service and a database constraint) and download the bank file.
rules.add_perm("erp_integration.view_paymentrun", is_staff_role | is_auditor)
rules.add_perm("erp_integration.add_paymentrun", is_staff_role)
rules.add_perm("erp_integration.change_paymentrun", is_staff_role)
rules.add_perm("erp_integration.approve_paymentrun", is_staff_role | is_ap_admin)
rules.add_perm("erp_integration.download_payment_file", is_staff_role)
rules.add_perm("erp_integration.import_bank_statement", is_staff_role)
