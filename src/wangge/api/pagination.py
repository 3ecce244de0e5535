from rest_framework.pagination import LimitOffsetPagination


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """The default page size (REST_FRAMEWORK PAGE_SIZE), with a ceiling on `limit`: a list with
    boundaries can be heavy, and no client needs more than this many rows per request."""

    max_limit = 1000
