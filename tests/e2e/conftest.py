import pytest

from tests.support.cluster import reset_everything


@pytest.fixture(scope="session", autouse=True)
def empty_infrastructure():
    reset_everything()
