"""What the atomic family's evaluations share: the seed of their fresh test
images, and the check that a model is an atomic autoencoder."""

from __future__ import annotations

from typing import Any

#: Seed of the fresh test images of every atomic evaluation (never a training seed).
EVAL_SEED = 20_231


def _check_atomic(model: Any) -> Any:
    if not hasattr(model, "atoms") or not hasattr(model, "k"):
        raise TypeError(f"`model` must be an atomic autoencoder (from "
                        f"geomae_tf.zoo.atomic_autoencoder). Received: model of type "
                        f"{type(model).__name__}")
    return model
