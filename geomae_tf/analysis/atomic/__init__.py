"""Evaluation and figures of the atomic family (Newson and Traonmilin 2023, section 3).

One module per job, every public name also importable from here
(`from geomae_tf.analysis import atomic; atomic.spike_recovery(...)`):

- `spikes`: spike recovery (Hungarian matching of the located atoms to the
  true spikes within a distance gate): `spike_recovery`, `evaluate_spikes`.
- `strokes`: the one-to-one match of atoms and true strokes:
  `stroke_matching`, `evaluate_strokes`.
- `mnist`: held-out digits: connected and local atoms, consistent
  interpolations: `evaluate_mnist`.
- `figures`: decomposition (Figures 3 and 5), navigation of one block
  (Figure 6), interpolation (Figure 4), reconstructions (Figure 2):
  `figures_spikes`, `figures_strokes`, `figures_mnist`.

Latent bounds and sweeps are `geomae_tf.analysis.latent`'s, shared by every
family; atom location (`locate_atoms`, `ACTIVE_THRESHOLD`) lives with the
model (`geomae_tf.models.atomic.inference`).
"""

from geomae_tf.analysis.atomic.common import EVAL_SEED
from geomae_tf.analysis.atomic.figures import (decomposition_figure, figures_mnist,
                                               figures_spikes, figures_strokes,
                                               interpolation_figure, navigation_figure,
                                               reconstruction_figure)
from geomae_tf.analysis.atomic.mnist import (LOCALITY_LEVEL, atom_locality, atom_mass_split,
                                             connected_atoms, evaluate_mnist,
                                             interpolation_consistency)
from geomae_tf.analysis.atomic.spikes import (DISTANCE_GATE, evaluate_spikes, match_spikes,
                                              recovery_by_count, recovery_by_count_figure,
                                              recovery_scores, spike_recovery)
from geomae_tf.analysis.atomic.strokes import (MIN_STROKE_COSINE, blob_cosines,
                                               evaluate_strokes, stroke_matching)
from geomae_tf.analysis.latent import latent_bounds, training_codes
from geomae_tf.models.atomic.inference import ACTIVE_THRESHOLD, locate_atoms

__all__ = [
    "ACTIVE_THRESHOLD", "DISTANCE_GATE", "EVAL_SEED", "LOCALITY_LEVEL", "MIN_STROKE_COSINE",
    "atom_locality", "atom_mass_split", "blob_cosines", "connected_atoms", "decomposition_figure",
    "evaluate_mnist", "evaluate_spikes", "evaluate_strokes", "figures_mnist",
    "figures_spikes", "figures_strokes", "interpolation_consistency", "interpolation_figure",
    "latent_bounds", "locate_atoms", "match_spikes", "navigation_figure",
    "reconstruction_figure", "recovery_by_count", "recovery_by_count_figure",
    "recovery_scores", "spike_recovery", "stroke_matching", "training_codes",
]
