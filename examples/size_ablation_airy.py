"""Ablation without biases and the Airy decoding profile (JMIV 2020, 4.3 and appendix B).

Reproduces Figures 4, 11 and 12 and checks the paper's claims with numbers:

- Proposition 1: a decoder without biases is positively homogeneous,
  D(l z) = l D(z) for l > 0 (largest relative deviation printed);
- Proposition 2: the optimal profile f maximises J(f) (eq. 7); computed two
  ways (leading eigenvector of the discretised quadratic form, and the closed
  form with Airy functions, f'' = -k rho f), which must agree;
- the trained bias-free network decodes every disk as h(r) f(t) (eq. 5) with
  f the optimum: correlation of the learned and optimal radial profiles
  (goal >= 0.98) and r^2 of z against <f, x_r> (Figure 11, goal >= 0.99).

Usage:
    python examples/size_ablation_airy.py                 # ~12 epochs, a few minutes
    python examples/size_ablation_airy.py --full          # 60 epochs (the zoo recipe)
    python examples/size_ablation_airy.py --weights disk_ae_nobias   # the trained entry
"""

import argparse
import json
from pathlib import Path

import numpy as np

from geomae_tf import zoo
from geomae_tf.analysis import airy
from geomae_tf.analysis import disk as disk_analysis
from geomae_tf.training.tuning import fit_disk_autoencoder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="60 epochs (zoo recipe)")
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs")
    parser.add_argument("--weights", default=None,
                        help="skip training: a zoo entry (disk_ae_nobias) or .weights.h5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="figures")
    args = parser.parse_args()
    out = Path(args.out)
    R = 32.0

    # -- Proposition 2: the optimum, two ways --------------------------------------------
    numeric = airy.optimal_profile_numeric(R, n=2000)
    closed = airy.airy_profile(numeric["rho"], R)
    ascent = airy.optimal_profile_gradient(R)
    print(f"Proposition 2, R = {R:g}: X0 = {airy.first_zero():.6f}, k = (X0/R)^3 = "
          f"{airy.airy_k(R):.6e}")
    print(f"  eigenvector vs Airy closed form: max |diff| = "
          f"{np.max(np.abs(numeric['f'] - closed)):.2e}; top eigenvalue {numeric['mu']:.4f} "
          f"vs (R/X0)^3 = {(R / airy.first_zero()) ** 3:.4f}")
    print(f"  gradient ascent vs Airy: max |diff| = "
          f"{np.max(np.abs(ascent['f'] - airy.airy_profile(ascent['rho'], R))):.2e}")

    # -- the network ---------------------------------------------------------------------
    if args.weights:
        model = zoo.disk_autoencoder(use_bias=False, weights=args.weights)
        name = "disk_ae_nobias"
        print(f"loaded {args.weights}")
    else:
        epochs = args.epochs or (60 if args.full else 12)
        model, history = fit_disk_autoencoder({"use_bias": False}, {}, epochs=epochs,
                                              seed=args.seed)
        print(f"trained {epochs} epochs, final training MSE {history['mse'][-1]:.5f} "
              f"(best possible for h(r) f: the rank-one residual, about 0.0485)")
        name = f"nobias_example_{epochs}ep"

    # -- Proposition 1 ---------------------------------------------------------------------
    z = np.linspace(-3.0, 3.0, 13, dtype="float32")[:, None]
    d = model.decode(z)
    worst = max(float(np.max(np.abs(model.decode(lam * z) - lam * d)) / np.max(np.abs(lam * d)))
                for lam in (0.1, 2.0, 37.0))
    print(f"Proposition 1: max |D(l z) - l D(z)| / max |l D(z)| = {worst:.2e}")

    # -- learned vs optimal profile (Figures 11-12) ---------------------------------------
    c = airy.compare_with_network(model, R=R, n=400)
    print(f"learned vs Airy profile: correlation {c['corr_learned_airy']:.5f} (goal >= 0.98), "
          f"2-D cosine {c['cosine_learned_airy_2d']:.5f}")
    print(f"learned vs exact grid optimum (blurred disks): correlation "
          f"{c['corr_learned_discrete']:.5f}; Airy vs grid optimum {c['corr_airy_discrete']:.5f}")
    print(f"z against <f, x_r> (Figure 11): r^2 = {c['r2_z_vs_inner']:.5f} (goal >= 0.99); "
          f"codes of the dominant sign: {c['fraction_dominant_sign']:.3f}")
    paths = airy.figures(c, out, name=name)
    paths.append(disk_analysis.output_profiles_figure(
        model, [4, 8, 12, 16, 20, 24, 28], out / f"{name}_output_profiles.png",
        title="Bias-free autoencoder: outputs h(r) f(t) (Figure 4)", R=R))
    numbers = {k: v for k, v in c.items() if isinstance(v, float)}
    numbers["proposition1_max_relative_error"] = worst
    (out / f"{name}_airy.json").write_text(json.dumps(numbers, indent=2) + "\n")
    for p in paths:
        print("figure:", p)


if __name__ == "__main__":
    main()
