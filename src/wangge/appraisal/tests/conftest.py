import pytest

from .crafted import build_march


@pytest.fixture
def march(world):
    return build_march(world)
