"""The import endpoint's body: bytes, read by the import service itself.

The import reads documents strictly (ruleengine.input_check through ruleset_import.document_parse):
the json module keeps every integer exact and names the line and column of malformed JSON, where
orjson would read an integer beyond 64 bits as an approximate float. Its size limit is
IMPORT_MAX_DOCUMENT_BYTES, not the API's API_MAX_BODY_BYTES: a 10,000-rule document is larger.
"""

from django.conf import settings
from rest_framework.parsers import BaseParser


class DocumentBodyParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        # One byte over the limit is enough for the service to refuse it with the limit's name.
        limit = settings.IMPORT_MAX_DOCUMENT_BYTES
        return stream.read(limit + 1) if stream is not None else b""


class DmnBodyParser(DocumentBodyParser):
    """A DMN file (XML) for the same import: the service tells it from JSON by its content."""

    media_type = "application/xml"


class DmnTextBodyParser(DocumentBodyParser):
    media_type = "text/xml"
