from django.apps import AppConfig


class ErpIntegrationConfig(AppConfig):
    name = "erp_integration"
    verbose_name = "ERP integration"
