import pytest
from rest_framework.test import APIClient

from wangge.people.models import User


@pytest.fixture
def api():
    """`api(user)`: an APIClient signed in as a fresh copy of `user` (so no scope is cached across
    calls); `api()` is anonymous."""

    def _api(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(User.objects.get(pk=user.pk))
        return client

    return _api


def codes(response) -> set[str]:
    """The unit codes in a list answer."""
    return {item["code"] for item in response.json()["results"]}
