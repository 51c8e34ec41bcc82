"""Deterministic generator of realistic vendor invoices with ground truth.

Pure functions: an ``InvoiceSpec`` (the truth) is rendered to bytes as a PDF, a scan or photo
of that PDF, UBL 2.1, UN/CEFACT CII or a Factur-X PDF. Nothing here touches Django models, so
the demo data command, the extraction tests and the benchmark can all use it.
"""
