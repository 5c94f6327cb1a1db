import pytest

from mednum.geo import nearest


@pytest.fixture(autouse=True)
def _fresh_density_hints():
    """Each test starts its searches from the default radius (hints only speed up, never change, answers)."""
    nearest._DENSITY_HINTS.clear()
    yield
    nearest._DENSITY_HINTS.clear()
