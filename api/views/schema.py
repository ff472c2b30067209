"""``/api/schema/``: the OpenAPI document, generated one request at a time.

drf-spectacular's generator keeps state in module and class attributes (extension classes
resolved on first use, the generator's statistics), so two requests generating the schema at
once in one process (a threaded server, gthread workers) can fail with a 500
(tfranzel/drf-spectacular#1123, #1368). A process-wide lock serialises generation.
"""

from __future__ import annotations

import threading

from drf_spectacular.views import SpectacularAPIView

_generating = threading.Lock()


class SchemaView(SpectacularAPIView):
    def _get_schema_response(self, request):
        with _generating:
            return super()._get_schema_response(request)
