"""Navigating a trained zoo entry, with bounds from its own training data.

The entry's recipe (`zoo/<entry>.toml`, read by `geomae_tf.training.recipe`)
describes its training pipeline; the first `n` inputs of that pipeline give
the training codes whose quantiles bound each coordinate, and
`geomae_tf.analysis.navigation.navigate` sweeps them. This module joins the
two, so that the analysis never imports the training side: it is what
`geomae navigate ENTRY` runs.

Example::

    from geomae_tf import entry_navigation, zoo

    model = zoo.load("atomic_spikes")
    codes = entry_navigation.entry_training_codes(model, "atomic_spikes", n=1000)
    result = entry_navigation.navigate_entry("atomic_spikes", out_dir="figures/navigation")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from geomae_tf import validation, zoo
from geomae_tf.analysis import navigation
from geomae_tf.datasets import DATASETS
from geomae_tf.training.recipe import Recipe, load_recipe
from geomae_tf.zoo.weights import check_entry, recipe_path

if TYPE_CHECKING:
    import keras

    from geomae_tf.types import PathLike

#: Training inputs encoded to estimate the bounds.
DEFAULT_N_CODES = 1000


def recipe_of(entry: str, recipe: PathLike | None = None) -> Recipe:
    """The recipe of zoo entry `entry`: `recipe` if given, else `zoo/<entry>.toml`
    of this repository, of the install (`<prefix>/share/geomae_tf/zoo`) or of
    the current folder (`geomae_tf.zoo.weights.recipe_path`)."""
    check_entry(entry)
    if recipe is not None:
        return load_recipe(recipe)
    try:
        return load_recipe(recipe_path(entry))
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err}: give its path (--recipe PATH)") from None


def training_sample(recipe: Recipe, n: int = DEFAULT_N_CODES) -> np.ndarray:
    """The first `n` inputs of the training pipeline a recipe describes
    (`[data]`, with the batch size set to `n`): images, or the positions
    of the position decoder's (position, signal) pairs."""
    n = validation.check_int("n", n, minimum=1)
    kwargs = recipe.data_kwargs()
    kwargs["batch_size"] = n
    batch = next(iter(DATASETS[recipe.dataset].training_dataset(**kwargs)))
    return np.asarray(batch[0])


def entry_training_codes(model: keras.Model, entry: str, n: int = DEFAULT_N_CODES,
                         recipe: PathLike | None = None) -> np.ndarray:
    """Codes of `n` training inputs of zoo entry `entry` (see `training_sample`):
    E(x) for an autoencoder, the positions themselves for the position decoder."""
    inputs = training_sample(recipe_of(entry, recipe), n)
    if navigation._is_autoencoder(model):
        return model.encode(inputs)
    return validation.check_codes(inputs.reshape(len(inputs), -1), name="codes",
                                  latent_dim=navigation.latent_dim_of(model))


def navigate_entry(entry: str, out_dir: PathLike = "figures/navigation",
                   n_codes: int = DEFAULT_N_CODES, recipe: PathLike | None = None,
                   **kwargs) -> dict[str, Any]:
    """`navigate` on a trained zoo entry, bounds from its own training data.

    Args:
        entry: str. A zoo entry with a decoder (every autoencoder, and
            `position_decoder_1d`).
        out_dir: folder of the outputs.
        n_codes: int. Training inputs encoded for the bounds. Defaults to 1000.
        recipe: None or a recipe path (default: `zoo/<entry>.toml`).
        **kwargs: passed to `geomae_tf.analysis.navigation.navigate`
            (reference, block, axes, steps, quantile, fps, atom_only).

    Returns:
        The dict of `navigate`.
    """
    model = zoo.load(entry)
    if not (navigation._is_autoencoder(model) or navigation._is_code_decoder(model)):
        raise ValueError(f"`entry` must be a zoo entry with a decoder; {entry!r} has none "
                         f"to navigate. Received: entry={entry!r}")
    codes = entry_training_codes(model, entry, n_codes, recipe)
    return navigation.navigate(model, codes, out_dir, name=entry, **kwargs)
