import pytest

from mednum.territoires import search
from tests.territoires.conftest import communes  # noqa: F401 — the same few real communes


@pytest.fixture(autouse=True)
def _fresh_communes_index():
    search.invalidate_index()
    yield
    search.invalidate_index()
