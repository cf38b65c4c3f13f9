"""Limited data: a maximum radius R = 18 (JMIV 2020, 4.4 and appendix C; Figures 5, 13).

Trains the disk autoencoder (with biases, Figure 5) and its bias-free
ablation (Figure 13) on disks whose radii stop at R = 18, then measures both
on fresh Monte-Carlo-blurred disks from the TRUE distribution (radii 1..31):
the MSE on observed radii (< 18) against unobserved ones (>= 18). The
paper's claim: the network does not extrapolate beyond R; without biases it
learns a profile f whose support stops at R (the Airy optimum for R = 18),
and codes beyond R use the other sign with an untuned profile.

Usage:
    python examples/size_restricted_radius.py            # 15 epochs per network, minutes
    python examples/size_restricted_radius.py --full     # 60 epochs per network
"""

import argparse
import json
from pathlib import Path

import numpy as np

from geomae_tf.analysis import airy
from geomae_tf.analysis import disk as disk_analysis
from geomae_tf.training.tuning import fit_disk_autoencoder

R = 18.0
BANDS = {"observed": [1.0, R], "unobserved": [R, 31.0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full-length training")
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-test", type=int, default=500)
    parser.add_argument("--out", default="figures")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    models, results = {}, {}
    for name, use_bias, full_epochs in (("with biases", True, 60), ("no biases", False, 60)):
        epochs = args.epochs or (full_epochs if args.full else 15)
        model, history = fit_disk_autoencoder({"use_bias": use_bias}, {"max_radius": R},
                                              epochs=epochs, seed=args.seed)
        m = disk_analysis.evaluate(model, n_test=args.n_test, n_samples=512, bands=BANDS)
        m["epochs"] = epochs
        m["final_training_mse"] = float(history["mse"][-1])
        models[name], results[name] = model, m
        print(f"{name}: {epochs} epochs on radii < {R:g}; held-out MSE on observed radii "
              f"{m['mse_observed']:.2e}, on unobserved radii {m['mse_unobserved']:.2e} "
              f"(x{m['mse_unobserved'] / m['mse_observed']:.1f})")

    nobias = models["no biases"]
    c = airy.compare_with_network(nobias, R=R, n=400, radius_range=(1.0, R))
    beyond = airy.learned_profile(nobias, n=200, radius_range=(R + 1.0, 31.0))
    same_sign = float(np.mean(np.sign(beyond["z"]) == c_sign(nobias, R)))
    print(f"no biases: learned profile vs Airy optimum for R = {R:g}: correlation "
          f"{c['corr_learned_airy']:.4f}; r^2 of z vs <f, x_r> {c['r2_z_vs_inner']:.4f}")
    rings = c["rings"]
    tail = float(np.max(np.abs(c["profile_learned"][rings > R + 3])) / c["profile_learned"][0])
    print(f"no biases: |f| beyond R + 3 px at most {tail:.3f} of f(0) (support stops at R); "
          f"codes of disks with r > {R + 1:g} with the same sign as observed ones: "
          f"{same_sign:.2f} (appendix C: the other sign is used beyond R)")
    results["no biases"].update({k: v for k, v in c.items() if isinstance(v, float) and k != "R"})
    results["no biases"]["profile_tail_beyond_R_plus_3"] = tail
    results["no biases"]["fraction_same_sign_beyond_R"] = same_sign

    radii = [4, 9, 14, 20, 25, 30]
    paths = [disk_analysis.pairs_figure(models, radii, lambda r: r < R,
                                        out / "size_restricted_radius_pairs.png",
                                        title=f"Training radii < {R:g} (Figure 5)"),
             disk_analysis.output_profiles_figure(
                 nobias, [4, 8, 12, 16, 20, 24, 28], out / "size_restricted_radius_profiles.png",
                 title=f"No biases, training radii < {R:g}: outputs (Figure 13)", R=R)]
    (out / "size_restricted_radius.json").write_text(json.dumps(results, indent=2) + "\n")
    for p in paths:
        print("figure:", p)


def c_sign(model, R):
    """The sign of the codes of the observed disks."""
    z = airy.learned_profile(model, n=50, radius_range=(1.0, R))["z"]
    return 1.0 if np.sum(z > 0) >= np.sum(z < 0) else -1.0


if __name__ == "__main__":
    main()
