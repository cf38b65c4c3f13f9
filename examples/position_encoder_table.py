"""The hand-crafted position encoder: Table 2 and Proposition 3 of JMIV 2020.

Reproduces section 5.1-5.2 of Newson et al., "Processing simple geometric
attributes with autoencoders" (JMIV 2020): filtering by [1, 2, 1] and keeping
the even positions, with no bias and no non-linearity, L times, maps the
one-hot vector delta_a of length 2^L to 2^L - a (its position, in inverted
order).

- Table 2: every one-hot vector of length 8 and the layer outputs u(1), u(2),
  u(3), printed and checked exactly.
- Proposition 3: E(delta_a) = 2^L - a for every a and L = 1 .. 8; any
  multiple b [1, 2, 1] gives b^L (2^L - a).
- The separable 2-D version returns (row, column) codes of a 2-D Dirac.

Runs in seconds (no training). Usage:
    python examples/position_encoder_table.py [--out figures/]
"""

import argparse
from pathlib import Path

import numpy as np

from geomae_tf.layers.dirac_position_encoder import DiracPositionEncoder
from geomae_tf.layers.dirac_position_encoder_2d import DiracPositionEncoder2D


def table2():
    """Prints Table 2 and returns the largest deviation from the paper."""
    expected = {
        1: [[2, 0, 0, 0], [1, 1, 0, 0], [0, 2, 0, 0], [0, 1, 1, 0], [0, 0, 2, 0], [0, 0, 1, 1],
            [0, 0, 0, 2], [0, 0, 0, 1]],
        2: [[4, 0], [3, 1], [2, 2], [1, 3], [0, 4], [0, 3], [0, 2], [0, 1]],
        3: [[8], [7], [6], [5], [4], [3], [2], [1]],
    }
    x = np.eye(8, dtype="float32")[:, :, None]
    encoder = DiracPositionEncoder(levels=3)
    outputs = [np.asarray(u)[..., 0] for u in encoder.intermediate_outputs(x)]
    print("Table 2 (JMIV 2020): one-hot vectors of size 8 through [1, 2, 1] + subsampling")
    for a in range(8):
        rows = [f"x = {x[a, :, 0].astype(int).tolist()}"] + [
            f"u({level + 1}) = {outputs[level][a].astype(int).tolist()}" for level in range(3)]
        print("  " + "  ".join(rows))
    worst = max(float(np.max(np.abs(outputs[level - 1] - np.array(expected[level]))))
                for level in expected)
    print(f"  largest deviation from the paper's Table 2: {worst:g}")
    return worst


def proposition3():
    """Checks E(delta_a) = b^L (2^L - a) for L = 1..8 and a few b."""
    print("Proposition 3: E(delta_a) = b^L (2^L - a)")
    worst = 0.0
    for levels in range(1, 9):
        n = 2 ** levels
        x = np.eye(n, dtype="float32")[:, :, None]
        error = 0.0
        for b in (1.0, -0.5, 3.0):
            out = np.asarray(DiracPositionEncoder(levels=levels, scale=b)(x))[:, 0, 0]
            error = max(error, float(np.max(np.abs(out / b ** levels - (n - np.arange(n))))))
        worst = max(worst, error)
        print(f"  L = {levels}, n = {n:3d}: max |E(delta_a) / b^L - (2^L - a)| = {error:.3g} "
              f"(b = 1, -0.5, 3)")
    return worst


def two_d(size=16):
    """Every 2-D Dirac of a size x size image through the separable encoder."""
    levels = int(np.log2(size))
    images = np.zeros((size * size, size, size, 1), "float32")
    rows, cols = np.divmod(np.arange(size * size), size)
    images[np.arange(size * size), rows, cols, 0] = 1.0
    codes = np.asarray(DiracPositionEncoder2D(levels=levels)(images))[:, 0, 0]
    error = float(np.max(np.abs(codes - np.stack([size - rows, size - cols], 1))))
    print(f"2-D separable encoder, all {size * size} Diracs of {size}x{size}: "
          f"max |code - (2^L - row, 2^L - col)| = {error:g}")
    return codes, rows, cols, error


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures", help="folder for the figure")
    parser.add_argument("--full", action="store_true", help="same as default (no training)")
    args = parser.parse_args()
    worst_table = table2()
    worst_prop = proposition3()
    codes, rows, cols, worst_2d = two_d()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = np.eye(64, dtype="float32")[:, :, None]
    encoder = DiracPositionEncoder(levels=6)
    outputs = [np.asarray(u)[..., 0] for u in encoder.intermediate_outputs(x)]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].imshow(outputs[1], aspect="auto", cmap="viridis")
    axes[0].set(title="u(2) for every one-hot of length 64", xlabel="t", ylabel="position a")
    axes[1].plot(np.arange(64), outputs[-1][:, 0], ".")
    axes[1].set(title="E(delta_a) = 64 - a (Proposition 3)", xlabel="position a",
                ylabel="output")
    axes[2].scatter(cols, rows, c=codes[:, 0], s=12, cmap="coolwarm")
    axes[2].set(title="2-D: row code 16 - i", xlabel="column j", ylabel="row i")
    axes[2].invert_yaxis()
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "position_encoder_table.png", dpi=120)
    print(f"figure: {out / 'position_encoder_table.png'}")
    if max(worst_table, worst_prop, worst_2d) > 1e-4:
        raise SystemExit("the hand-crafted encoder does not reproduce the paper")


if __name__ == "__main__":
    main()
