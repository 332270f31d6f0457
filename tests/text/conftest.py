import pytest

from langid_fixtures import write_langid


@pytest.fixture
def langid_dir(tmp_path):
    return write_langid(tmp_path)
