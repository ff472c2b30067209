from rest_framework import pagination


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    """``?limit=&offset=``; body ``{count, next, previous, results}``; at most 200 a page."""

    default_limit = 50
    max_limit = 200
