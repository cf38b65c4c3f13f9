"""Synthetic datasets, each a module with `training_dataset(...)` (a `tf.data`
pipeline for `model.fit`) and a seeded numpy maker with ground-truth factors;
and `images`, the user's own images (no ground truth; a validation split)."""

from geomae_tf.datasets import disks
from geomae_tf.datasets import diracs
from geomae_tf.datasets import mnist, spikes, strokes
from geomae_tf.datasets import ellipses, grey_disks, images
from geomae_tf.datasets import tfds_disks  # noqa: F401  registers tfds "geomae_disks"
from geomae_tf.datasets import tfds_mnist  # noqa: F401  registers tfds "geomae_mnist"

#: Datasets by the name recipes use.
DATASETS = {
    "disks": disks,
    "diracs": diracs,
    "mnist": mnist,
    "spikes": spikes,
    "strokes": strokes,
    "ellipses": ellipses,
    "grey_disks": grey_disks,
    "images": images,
}

__all__ = ["DATASETS", "disks", "images"]
