"""Shared test set-up: quiet TensorFlow, deterministic seeds, markers."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: real training or export of every entry "
                            "(still run by `make test`; deselect with -m 'not slow')")


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
    yield
