"""Disentanglement metrics with disentanglement_lib's definitions (numpy + sklearn).

- `mig(z, factors)`: Mutual Information Gap (Chen et al. 2018), 20-bin
  histograms, normalised by each factor's entropy.
- `dci(z, factors)`: dict of DCI `disentanglement`, `completeness` and
  `informativeness` (Eastwood and Williams 2018) from gradient-boosted trees;
  `disentanglement_from_importance` / `completeness_from_importance` score a
  given importance matrix.
- `sap(z, factors)`: Separated Attribute Predictability (Kumar et al. 2018).

`z` is an `(N, d)` array of codes; `factors` an `(N, K)` array, an `(N,)`
array or a dict name -> `(N,)` array of the ground-truth factors of the same
samples. Factors may be discrete or continuous (`discrete=None` decides by
the number of distinct values; see `geomae_tf.metrics.utils`). Every metric
takes a `seed` and is reproducible.

Example:
>>> from geomae_tf import metrics
>>> metrics.mig(z, {"radius": radii})
>>> metrics.dci(z, {"a": a, "b": b, "theta": theta})["completeness"]

This package imports neither TensorFlow nor Keras, and sklearn only when
DCI or SAP runs.
"""

from geomae_tf.metrics.dci import (completeness_from_importance, dci,
                                   disentanglement_from_importance, importance_matrix)
from geomae_tf.metrics.mig import mig, mutual_information_matrix
from geomae_tf.metrics.sap import sap, sap_score_matrix

__all__ = ["mig", "dci", "sap", "importance_matrix", "disentanglement_from_importance",
           "completeness_from_importance", "mutual_information_matrix", "sap_score_matrix"]
