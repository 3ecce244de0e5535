from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from wangge.api.pagination import BoundedLimitOffsetPagination


def test_a_page_holds_at_most_a_thousand_rows():
    request = Request(APIRequestFactory().get("/", {"limit": "100000"}))
    assert BoundedLimitOffsetPagination().get_limit(request) == 1000


def test_the_default_page_size_applies_without_a_limit(settings):
    request = Request(APIRequestFactory().get("/"))
    assert BoundedLimitOffsetPagination().get_limit(request) == settings.REST_FRAMEWORK["PAGE_SIZE"]
