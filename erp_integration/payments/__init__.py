"""Payment files: SEPA credit transfers (pain.001), NACHA ACH, and camt.054 bank notifications.

Pure functions over plain dataclasses; the payment-run services own the database.
"""


class PaymentFileError(ValueError):
    """A payment file cannot be built or read; the message names the field and the payment."""
