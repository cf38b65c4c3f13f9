"""The `geomae` command line: train, tune, evaluate, export, figures, demo.

Exit codes: 0 success, 1 failure while running (e.g. training diverged),
2 bad arguments (unknown entry, bad recipe, bad option), as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class UsageError(Exception):
    """Bad input on the command line: reported with exit code 2."""


def _entries(args_entries):
    from geomae_tf import zoo

    for entry in args_entries:
        if entry not in zoo.ENTRIES:
            raise UsageError(f"unknown zoo entry {entry!r}; allowed: {sorted(zoo.ENTRIES)}")
    return list(args_entries) or zoo.available_entries()


def cmd_train(args):
    from geomae_tf.training.trainer import train

    for recipe in args.recipes:
        _, results = train(recipe, out_dir=args.out_dir, saved_models=args.saved_models,
                           export=not args.no_export, evaluate=not args.no_evaluate,
                           epochs=args.epochs, verbose=args.verbose,
                           command="geomae " + " ".join(sys.argv[1:]))
        print(f"{results['entry']}: trained {results['epochs']} epoch(s) in "
              f"{results['train_seconds']} s; metrics: {results.get('metrics')}")
        if "export" in results:
            print(f"exported to {results['export']}")


def cmd_export(args):
    from geomae_tf import zoo
    from geomae_tf.export.saved_model import export_entry, write_models_config

    if args.refresh_config:
        print(f"{args.saved_models}/models.config lists "
              f"{write_models_config(args.saved_models, args.serve_root)}")
        return
    for entry in _entries(args.entries):
        model = zoo.load(entry)
        config = zoo.entry_config(entry)
        path = export_entry(model, entry, root=args.saved_models, version=args.version,
                            config=config, signature=zoo.ENTRIES[entry].get("signature"))
        print(f"{entry}: exported to {path}")


def cmd_evaluate(args):
    from geomae_tf.analysis import report

    rows = report.evaluate_entries(_entries(args.entries), quick=args.quick)
    paths = report.write_report(rows, args.out)
    if args.readme:
        paths.append(report.update_readme(args.readme, rows))
    print(report.markdown_table(rows))
    print(f"written: {', '.join(str(p) for p in paths)}")


def cmd_figures(args):
    from geomae_tf.analysis import report

    for entry in _entries(args.entries):
        for path in report.entry_figures(entry, args.out):
            print(path)


def cmd_demo(args):
    from geomae_tf.analysis import report

    out = Path(args.out)
    entries = _entries([])
    if not entries:
        print("no trained zoo entry found; train one with `geomae train zoo/disk_ae.toml`")
        return
    rows = report.evaluate_entries(entries, quick=not args.full)
    print(report.markdown_table(rows))
    paths = report.write_report(rows, out)
    for entry in entries:
        paths += report.entry_figures(entry, out)
    print(f"\n{len(paths)} file(s) written; figures and tables in:")
    print(out.resolve())


def cmd_tune(args):
    from geomae_tf.training import tuning

    tuning.tune_from_recipe(args.recipe, out_dir=args.out_dir, max_trials=args.max_trials)


def build_parser():
    parser = argparse.ArgumentParser(prog="geomae", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train zoo entries from their recipes (zoo/*.toml)")
    p.add_argument("recipes", nargs="+", help="recipe files, e.g. zoo/disk_ae.toml")
    p.add_argument("--out-dir", default="runs", help="run folders (logs, backups)")
    p.add_argument("--saved-models", default="saved_models", help="export root")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    p.add_argument("--no-export", action="store_true", help="do not export the model")
    p.add_argument("--no-evaluate", action="store_true", help="skip held-out evaluation")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 progress bar, 2 one line per epoch")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="Keras Tuner sweep of the regularisation weight lambda")
    p.add_argument("recipe", help="a recipe with a [tune] section")
    p.add_argument("--out-dir", default="runs/tune")
    p.add_argument("--max-trials", type=int, default=None)
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="metrics of zoo entries on fresh data")
    p.add_argument("entries", nargs="*", help="zoo entries (default: every trained one)")
    p.add_argument("--out", default="reports", help="folder for evaluation.json/.md")
    p.add_argument("--quick", action="store_true", help="smaller held-out sets")
    p.add_argument("--readme", default=None,
                   help="also rewrite the zoo table of this README (between its markers)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="(re)write the SavedModel of zoo entries")
    p.add_argument("entries", nargs="*", help="zoo entries (default: every trained one)")
    p.add_argument("--saved-models", default="saved_models")
    p.add_argument("--version", type=int, default=None,
                   help="version folder (default: one above the latest)")
    p.add_argument("--refresh-config", action="store_true",
                   help="only rewrite saved_models/models.config")
    p.add_argument("--serve-root", default=None,
                   help="base path written in models.config (default: this checkout's "
                        "saved_models, absolute; e.g. /models inside docker)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("figures", help="the papers' figures for zoo entries")
    p.add_argument("entries", nargs="*")
    p.add_argument("--out", default="figures")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("demo", help="evaluate every trained entry and draw its figures")
    p.add_argument("--out", default="demo_output")
    p.add_argument("--full", action="store_true", help="full-size held-out sets")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "epochs", None) is not None and args.epochs < 1:
        parser.error(f"--epochs must be a positive int. Received: --epochs={args.epochs}")
    from geomae_tf.training.recipe import RecipeError

    try:
        args.func(args)
    except (UsageError, RecipeError, FileNotFoundError) as err:
        print(f"geomae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"geomae {args.command}: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
