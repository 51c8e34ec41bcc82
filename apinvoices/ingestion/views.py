"""Upload page and the PDF password endpoint."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from apinvoices.exceptions import ApplicationError
from apinvoices.ingestion.errors import RefusalCode, refusal_message
from apinvoices.ingestion.passwords import invoice_set_pdf_password
from apinvoices.ingestion.selectors import inbound_mail_needing_attention
from apinvoices.ingestion.service import Accepted, Duplicate, Refused, document_ingest
from apinvoices.ingestion.uploads import REFUSED_ATTR
from apinvoices.models import Channel, Invoice


def _result_row(name: str, result) -> dict:
    row = {"filename": name, "outcome": result.outcome, "code": "", "message": "", "invoice_url": "", "of": ""}
    if isinstance(result, Refused):
        row.update(code=str(result.code), message=result.message)
        return row
    document = result.document if isinstance(result, Accepted) else result.of
    if result.invoice is not None:
        row["invoice_url"] = reverse("apinvoices:invoice_detail", args=[result.invoice.pk])
        row["invoice_label"] = str(result.invoice)
    if isinstance(result, Duplicate):
        row["of"] = document.original_filename or document.sha256[:12]
        row["of_received_at"] = document.received_at
    if isinstance(result, Accepted) and document.is_encrypted:
        row["message"] = "The PDF is password protected: open the invoice and enter its password."
    return row


@require_http_methods(["GET", "POST"])
def upload(request):
    if not request.user.has_perm("apinvoices.upload_document"):
        raise PermissionDenied
    rows = []
    if request.method == "POST":
        uploads = request.FILES.getlist("files")  # parses the body, through LimitedUploadHandler
        if getattr(request, REFUSED_ATTR, None):
            limit_mb = f"{settings.AP_MAX_UPLOAD_BYTES / 1024 / 1024:g}"
            rows.append(
                _result_row(
                    request.headers.get("X-File-Name", "")[:200] or "upload",
                    Refused(RefusalCode.TOO_LARGE, refusal_message(RefusalCode.TOO_LARGE, limit_mb=limit_mb)),
                )
            )
        for uploaded in uploads:
            result = document_ingest(
                data=uploaded,
                filename=uploaded.name,
                channel=Channel.UPLOAD,
                received_by=request.user,
                source_ref=f"upload by {request.user.get_username()}"[:255],
            )
            rows.append(_result_row(uploaded.name, result))
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"results": [{k: str(v) for k, v in r.items()} for r in rows]})
        if request.htmx:
            return render(request, "apinvoices/partials/_upload_results.html", {"rows": rows})
    context = {
        "rows": rows,
        "max_bytes": settings.AP_MAX_UPLOAD_BYTES,
        "max_mb": f"{settings.AP_MAX_UPLOAD_BYTES / 1024 / 1024:g}",
        "too_large_message": refusal_message(
            RefusalCode.TOO_LARGE, limit_mb=f"{settings.AP_MAX_UPLOAD_BYTES / 1024 / 1024:g}"
        ),
        "mails": inbound_mail_needing_attention(),
    }
    return render(request, "apinvoices/upload.html", context)


@sensitive_variables("password")
@sensitive_post_parameters("password")
@require_POST
def invoice_password(request, pk: int):
    invoice = get_object_or_404(Invoice.objects.select_related("document"), pk=pk)
    if not request.user.has_perm("apinvoices.edit_invoice", invoice):
        raise PermissionDenied
    password = request.POST.get("password", "")
    context = {"invoice": invoice}
    try:
        invoice = invoice_set_pdf_password(invoice=invoice, password=password, actor=request.user)
    except ApplicationError as err:
        context["password_error"] = err.message
        if request.htmx:
            return render(request, "apinvoices/partials/_password_form.html", context, status=422)
        messages.error(request, err.message)
    else:
        context.update(invoice=invoice, password_ok=True)
        if request.htmx:
            response = render(request, "apinvoices/partials/_password_form.html", context)
            response["HX-Refresh"] = "true"
            return response
        messages.success(request, "Password accepted; the invoice is being read again.")
    return HttpResponseRedirect(reverse("apinvoices:invoice_detail", args=[pk]))
