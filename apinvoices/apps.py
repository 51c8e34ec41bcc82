from django.apps import AppConfig


class ApinvoicesConfig(AppConfig):
    name = "apinvoices"
    verbose_name = "AP invoices"
