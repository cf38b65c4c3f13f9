"""tests/backends: the zoo under the Keras backend of KERAS_BACKEND.

Run once per backend, each in its own process (Keras fixes its backend on
import): `KERAS_BACKEND=jax python -m pytest tests/backends -q` (and
`tensorflow`, `torch`); `make test` runs all three. A backend whose package
is not installed is skipped, saying which extra installs it.
"""

import os


def pytest_report_header(config):
    return f"Keras backend: {os.environ.get('KERAS_BACKEND', 'tensorflow')}"
