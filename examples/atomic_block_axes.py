"""
Title: What each coordinate of an atomic block does
Reproduces: Newson and Traonmilin 2023, section 2.3 and Figure 6 (navigating
one latent block), measured.

With d0 = 3 the block g of the spike autoencoder has room for one spike's
amplitude and its two position coordinates, and the paper's Figure 6 shows
one amplitude axis and two position axes. This script measures what the
trained block does with each of its coordinates. On fresh spike images, at
the code z_i of every active block (atom amplitude above 0.25), the atom
g(z_i) is located (peak refined to sub-pixel, exact for a Gaussian) and the
Jacobian of (log amplitude, row, column) with respect to the block's
coordinates is estimated by central differences (a step of 0.05 of each
coordinate's spread over the active blocks of 1000 training codes), in units
of that spread. It prints the d0 x 3 table of mean absolute effects per
standard deviation (relative amplitude change, row px, column px), the same
with signs (and how consistent each sign is across atoms), and two
normalisations: per coordinate (what it does, counting a 100% amplitude
change like a 1 px shift) and per attribute (which coordinate carries it;
unit-free). It saves the sweep of each coordinate of one block
(the atom alone, between the 1st and 99th percentiles of the training codes,
the other coordinates at a training image's code) as one figure, and a GIF
and a PNG strip per coordinate (`geomae navigate` writes the same).

Usage:
    python examples/atomic_block_axes.py
    python examples/atomic_block_axes.py --entry atomic_spikes --n-test 300 --block 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from geomae_tf import entry_navigation, zoo
from geomae_tf.analysis import atomic_axes, navigation


def parse_args():
    parser = argparse.ArgumentParser(description="What each atomic block coordinate does.")
    parser.add_argument("--entry", default="atomic_spikes", help="a trained atomic entry")
    parser.add_argument("--n-test", type=int, default=200, help="fresh spike images")
    parser.add_argument("--n-codes", type=int, default=1000,
                        help="training images encoded (spreads and bounds)")
    parser.add_argument("--step", type=float, default=atomic_axes.DEFAULT_STEP,
                        help="finite-difference step, as a fraction of the spread")
    parser.add_argument("--block", type=int, default=None,
                        help="the block drawn (default: the brightest atom of the first "
                             "training image)")
    parser.add_argument("--out", default="figures/atomic_block_axes")
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    model = zoo.load(args.entry)
    codes = entry_navigation.entry_training_codes(model, args.entry, n=args.n_codes)
    table = atomic_axes.atomic_block_axes(model, train_codes=codes, n_test=args.n_test,
                                          step=args.step)
    print(f"{args.entry}: {table['n_blocks']} active blocks of {args.n_test} fresh spike "
          f"images; spread (std over training active blocks) of each coordinate: "
          f"{np.round(table['spread'], 3).tolist()}")
    print("\nMean |effect| per std of the coordinate, and its shares:\n")
    print(atomic_axes.format_table(table))
    print("\nMean signed effect per std (amplitude relative, row px, column px), and the "
          "sign consistency |mean signed| / mean |effect|:")
    for j, (row, same) in enumerate(zip(table["mean_signed"], table["sign_consistency"])):
        print(f"  coordinate {j}: {row[0]:+.3f}  {row[1]:+.3f}  {row[2]:+.3f}    "
              f"{same[0]:.2f}  {same[1]:.2f}  {same[2]:.2f}")
    print("\nThe paper's block (Figure 6): coordinate 0 the amplitude, 1 and 2 two "
          "perpendicular motions. Here:")
    for attribute, column in zip(atomic_axes.ATTRIBUTES, table["column_share"].T):
        print(f"{attribute:>9} is carried mostly by coordinate {int(np.argmax(column))} "
              f"({column.max():.0%} of its total)")

    out = Path(args.out)
    result = navigation.navigate(model, codes, out, name=args.entry, block=args.block,
                                 atom_only=True)
    labels = [navigation.axis_label(model, a) for a in result["axes"]]
    fig = navigation.sweep_figure(result["sweep"]["outputs"], result["sweep"]["values"], labels,
                                  title=f"{args.entry}: the atom of block {result['block']}, "
                                        "one coordinate at a time (training 1st-99th "
                                        "percentiles)")
    path = navigation.save_png(fig, out / f"{args.entry}_block{result['block']}_atom.png")
    print(f"\nwritten: {path}, " + ", ".join(str(p) for p in result["gifs"] + result["strips"]))
    print(f"{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
