"""Ground-truth factors shared by the metric tests (numpy only, seeded).

They follow disentanglement_lib's `IdentityObservationsData`: independent
factors that are their own observations, so that a representation is just a
function of the factors.
"""

import numpy as np
import pytest


@pytest.fixture
def discrete_factors():
    """500 samples of 5 independent factors, each uniform on {1, ..., 10}."""
    return np.random.default_rng(0).integers(1, 11, size=(500, 5)).astype(np.float64)


@pytest.fixture
def continuous_factors():
    """2000 samples of 4 independent factors, each uniform on [0, 1)."""
    return np.random.default_rng(1).uniform(size=(2000, 4))


@pytest.fixture
def rotated_pair():
    """Two independent uniform factors (a, b) and the entangled code
    (a + b, a - b): each factor is spread evenly over both latents."""
    factors = np.random.default_rng(2).uniform(size=(2000, 2))
    code = np.stack([factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]], axis=1)
    return code, factors
