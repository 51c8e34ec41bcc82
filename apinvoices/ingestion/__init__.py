"""Ingestion channels (upload, e-mail, drop folder, command line) and the one service they share.

Entry point: ``apinvoices.ingestion.service.document_ingest``. Decisions and exactly-once keys:
docs/decisions/0002-ingestion-exactly-once.md.
"""
