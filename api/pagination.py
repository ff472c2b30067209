import re

from rest_framework import exceptions, pagination

_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``?limit=&offset=``; body ``{count, next, previous, results}``; at most 200 a page.

    A value that is not a whole number (``?offset=abc``) is a 400, not silently the default;
    an empty one is no value (as for the filters)."""

    default_limit = 50
    max_limit = 200

    def _check_whole_number(self, request, name: str) -> None:
        value = request.query_params.get(name)
        if value and not _WHOLE_NUMBER.fullmatch(value):
            raise exceptions.ValidationError({name: ["A whole number is required."]})

    def get_limit(self, request):
        self._check_whole_number(request, self.limit_query_param)
        return super().get_limit(request)

    def get_offset(self, request):
        self._check_whole_number(request, self.offset_query_param)
        return super().get_offset(request)
