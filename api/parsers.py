"""The JSON request parser: JSON text, but only Unicode text in its strings.

JSON may escape a lone UTF-16 surrogate (``"\\ud800"``), which Python reads into a ``str`` that
cannot be encoded as UTF-8: PostgreSQL cannot store it, and the renderer cannot echo it in an
error message (DRF's ``CharField`` refuses such values, but dict keys and choice values reached
a 500). Refused here, once, for every body: 400 ``validation-error``.
"""

from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.text import holds_lone_surrogate

LONE_SURROGATE = "JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff), which is not text."


class TextJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if holds_lone_surrogate(data):
            raise ParseError(LONE_SURROGATE)
        return data
