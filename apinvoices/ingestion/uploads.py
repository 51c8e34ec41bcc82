"""An upload handler that refuses oversized uploads while they stream in.

Django would otherwise read the whole body (to memory below FILE_UPLOAD_MAX_MEMORY_SIZE, to a
temp file above) before any view can say no. This handler runs first:

- a request whose Content-Length already exceeds the limit (plus room for the multipart
  framing and form fields) is not read at all;
- a file part that grows past the limit while streaming stops the parse at once.

Either way the request gets ``ap_upload_refused = "too_large"`` and empty FILES; the view turns
that into a ``too_large`` refusal.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

# Multipart boundaries, part headers and the CSRF token of a one-file upload fit in this.
FRAMING_ALLOWANCE_BYTES = 64 * 1024
REFUSED_ATTR = "ap_upload_refused"


class LimitedUploadHandler(FileUploadHandler):
    def __init__(self, request=None):
        super().__init__(request)
        self.limit = settings.AP_MAX_UPLOAD_BYTES
        self.received = 0

    def _refuse(self) -> None:
        if self.request is not None:
            setattr(self.request, REFUSED_ATTR, "too_large")

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + FRAMING_ALLOWANCE_BYTES:
            self._refuse()
            # "Handled": Django parses nothing, so not one byte of the body is read.
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
