"""The `geomae` command line: train, tune, evaluate, export, figures, demo, navigate.

Exit codes: 0 success, 1 failure while running (e.g. training diverged),
2 bad arguments (unknown entry, bad recipe, bad option, a run folder another
run holds), as argparse does; 130 interrupted (Ctrl-C), with one line saying
what was kept.
"""

from __future__ import annotations

import _thread
import argparse
import contextlib
import gc
import signal
import sys
import threading
import zipfile
from collections.abc import Sequence
from pathlib import Path

import keras

from geomae_tf import __version__, entry_navigation, logs, zoo
from geomae_tf.analysis import cards, docs_figures, report
from geomae_tf.export import export_saved_model
from geomae_tf.export.saved_model import export_entry, write_models_config
from geomae_tf.training import trainer
from geomae_tf.training.recipe import RecipeError, load_recipe
from geomae_tf.training.run_lock import RunFolderLocked
from geomae_tf.training.trainer import ExportError, published_versions


class UsageError(Exception):
    """Bad input on the command line: reported with exit code 2."""


def _entries(args_entries):
    for entry in args_entries:
        if entry not in zoo.ENTRIES:
            recipe = Path("zoo") / f"{entry}.toml"
            if recipe.is_file():
                raise UsageError(f"zoo entry {entry!r} has a recipe ({recipe}) but no published "
                                 f"weights yet; train it first: geomae train {recipe} --publish")
            raise UsageError(f"unknown zoo entry {entry!r}; allowed: {sorted(zoo.ENTRIES)}")
    return list(args_entries) or zoo.available_entries()


def cmd_train(args: argparse.Namespace) -> None:
    options = dict(saved_models=args.saved_models, export=not args.no_export,
                   evaluate=not args.no_evaluate, epochs=args.epochs)
    if args.publish:  # every refusal comes before the first recipe trains
        for recipe in args.recipes:
            trainer.check_publishable(load_recipe(recipe), version=args.version,
                                      force=args.force, **options)
    elif args.version is not None or args.force:
        raise UsageError("--version and --force say where to publish: add --publish")
    if args.check:  # everything checked, nothing trained nor written
        for recipe in args.recipes:
            info = trainer.check_run(recipe, evaluate=not args.no_evaluate)
            print(f"{recipe}: checked: entry {info['entry']} ({info['factory']}, "
                  f"{info['parameters']:,} parameters, input {info['input_shape']}, trainer "
                  f"{info['trainer']}); nothing trained or written")
        return
    for recipe in args.recipes:
        _, results = trainer.train(recipe, out_dir=args.out_dir, verbose=args.verbose,
                                   publish=args.publish, version=args.version,
                                   force=args.force, devices=args.devices,
                                   processes=_processes(args),
                                   command="geomae " + " ".join(sys.argv[1:]), **options)
        print(_train_summary(results))
        print(f"run folder: {results['run_dir']}")
        if "export" in results:
            print(f"exported to {results['export']} (the run's copy)")
        if "published" in results:
            print(f"published to {results['published']} and "
                  f"{Path(recipe).with_suffix('.results.json')}")
        else:
            print(f"not published: {args.saved_models}/ and "
                  f"{Path(recipe).with_suffix('.results.json')} are unchanged "
                  f"(--publish publishes a run of the recipe as it is)")


@contextlib.contextmanager
def _keyboard_interrupts():
    """Ctrl-C raises KeyboardInterrupt where the command runs, never inside a
    garbage-collector callback or a finaliser, where Python prints the
    exception as "ignored" and carries on (JAX registers such a callback, and
    training makes garbage at every step): there it is raised again a moment
    later."""
    def handler(signum, frame):
        if _in_finaliser(frame):
            threading.Timer(0.05, _thread.interrupt_main).start()
            return
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Python's own handling
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _in_finaliser(frame):
    """Whether `frame` runs a garbage-collector callback or a `__del__`."""
    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None:
        if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _interrupted_note(args):
    """What an interrupted command kept, and how to go on (one line)."""
    if args.command != "train":
        return "Finished steps are kept; nothing half-written was published."
    folders = []
    for recipe in args.recipes:
        try:
            folders.append(str(Path(args.out_dir) / load_recipe(recipe).entry))
        except (RecipeError, OSError, ValueError):
            continue
    where = ", ".join(folders) or args.out_dir
    return (f"The run folder ({where}) keeps the backup of the last finished epoch (or "
            f"stage); the same command resumes from it. A run is published only once it "
            f"finishes.")


def _processes(args):
    """`geomae train`'s multi-process options (unset ones: Keras' environment variables)."""
    return {"coordinator": args.coordinator, "num_processes": args.num_processes,
            "process_id": args.process_id, "timeout": args.coordinator_timeout}


def _train_summary(results):
    """A training run's results as a few readable lines: time, final loss, then the
    held-out metrics, with the entry's claims (presets `checks`) first."""
    entry = results["entry"]
    lines = [f"{entry}: trained {results['epochs']} epoch(s) in "
             f"{results['train_seconds'] / 60:.1f} min"
             + (f", final loss {results['final_loss']:.4g}"
                if isinstance(results.get("final_loss"), float) else "")]
    metrics = results.get("metrics") or {}
    if not metrics:
        return "\n".join(lines + ["  (not evaluated)"])
    claims = report.check_claims(entry, metrics) if entry in zoo.ENTRIES else []
    lines.append(f"  held-out metrics ({metrics.get('n_test', '?')} samples never trained on):")
    for claim in claims:
        lines.append(f"    {claim['metric']:<24} {report._fmt(claim['measured']):>10}   "
                     f"claim {claim['claim']}: {'holds' if claim['holds'] else 'NOT MET'}")
    claimed = {c["metric"] for c in claims}
    for name, value in metrics.items():
        if isinstance(value, float) and name not in claimed:
            lines.append(f"    {name:<24} {report._fmt(value):>10}")
    return "\n".join(lines)


def cmd_export(args: argparse.Namespace) -> None:
    if args.refresh_config:
        print(f"{args.saved_models}/models.config lists "
              f"{write_models_config(args.saved_models, args.serve_root)}")
        return
    if args.model is not None or args.out is not None:
        return _export_model(args)
    entries = _entries(args.entries)
    targets = {entry: _export_target(entry, args) for entry in entries}
    for entry, (version, latest) in targets.items():
        # rewriting a version re-exports its own weights; a new version, the latest's
        source = version if version in latest else None
        model = zoo.load(entry, version=source)
        config = zoo.entry_config(entry, version=source)
        if source is None and latest:  # the same weights, served by today's export
            config = {**config, "weights_from_version": config.get("weights_from_version",
                                                                  max(latest))}
        path = export_entry(model, entry, root=args.saved_models, version=version,
                            config=config, signature=zoo.ENTRIES[entry].get("signature"),
                            overwrite=args.force)
        note = ("the latest version: geomae_tf.zoo.load and TF Serving use it"
                if version >= max(latest, default=0) else
                f"version {max(latest)} stays the latest, the one geomae_tf.zoo.load "
                f"and TF Serving use")
        print(f"{entry}: exported to {path} ({note})")


def _export_model(args):
    """`geomae export --model PATH.keras --out DIR`: a model the user trained."""
    if args.model is None or args.out is None or args.entries:
        raise UsageError("--model PATH.keras and --out DIR go together, without zoo "
                         f"entries. Received: --model={args.model} --out={args.out} "
                         f"entries={args.entries}")
    model_path = Path(args.model)
    if model_path.suffix != ".keras" or not model_path.is_file():
        raise UsageError(f"--model must be an existing .keras file (keras.Model.save). "
                         f"Received: --model={args.model}")
    if args.version is not None and (Path(args.out) / str(args.version)).exists() \
            and not args.force:
        raise UsageError(f"{args.out}/{args.version} exists: geomae export never overwrites "
                         f"a version unless --force")
    if not zipfile.is_zipfile(model_path):  # Keras says "File not found" of such a file
        raise UsageError(f"--model {model_path} is not a .keras file (the zip archive "
                         f"keras.Model.save writes): it is corrupt or of another format")
    try:
        model = keras.saving.load_model(str(model_path))
    except (ValueError, TypeError, KeyError, OSError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(f"--model {model_path} cannot be loaded as a Keras model: "
                         f"{first}") from None
    path = export_saved_model(model, args.out, version=args.version, overwrite=args.force)
    print(f"{model_path}: exported to {path} (serve it with tensorflow_model_server "
          f"--model_base_path={Path(args.out).resolve()})")


def _export_target(entry, args):
    """(version, published versions) of `geomae export ENTRY`: it must be named
    (`--version`), and an existing one is replaced only with --force."""
    latest = published_versions(args.saved_models, entry)
    if args.version is None:
        raise UsageError(
            f"geomae export {entry} writes {args.saved_models}/{entry}/<version>/, and a "
            f"new version becomes the one geomae_tf.zoo.load and TF Serving use: name it "
            f"with --version {max(latest, default=0) + 1} (new), or rewrite one in place "
            f"with --version N --force (published: {latest})")
    if args.version in latest and not args.force:
        raise UsageError(
            f"{args.saved_models}/{entry}/{args.version} exists: geomae export never "
            f"overwrites a version unless --force (new: --version {max(latest) + 1})")
    return args.version, latest


def cmd_evaluate(args: argparse.Namespace) -> None:
    if args.cards:
        # the cards report the recorded results (zoo/<entry>.results.json): no evaluation
        paths = cards.write_cards(None if args.cards is True else args.cards)
        print(f"{len(paths)} model card(s) written to {paths[0].parent if paths else '-'}")
        if args.cards is True or args.readme:
            # the README's zoo table reports the same recorded results as the cards
            print(f"zoo table written to {cards.update_readme(args.readme)}")
        return
    rows = report.evaluate_entries(_entries(args.entries), quick=args.quick, progress=True)
    paths = report.write_report(rows, args.out)
    if args.readme:
        paths.append(cards.update_readme(args.readme))
    print(report.text_table(rows))
    print(f"written: {', '.join(str(p) for p in paths)}")


def cmd_figures(args: argparse.Namespace) -> None:
    if args.docs:
        # the README's and the cards' PNGs (docs/figures/), from the trained entries
        if args.entries:
            raise UsageError(f"--docs draws every figure of docs/figures, without "
                             f"entries. Received: entries={args.entries}")
        for path in docs_figures.write_docs_figures(
                None if args.out == "figures" else args.out):
            print(path)
        return
    for path in report.all_figures(_entries(args.entries), args.out, progress=True):
        print(path)


def cmd_demo(args: argparse.Namespace) -> None:
    out = Path(args.out)
    entries = _entries([])
    if not entries:
        print("no trained zoo entry found; train one with `geomae train zoo/disk_ae.toml`")
        return
    print(f"geomae {__version__}: evaluating {len(entries)} trained zoo entries on fresh "
          f"held-out data ({'full' if args.full else 'quick'} sets), then drawing their "
          f"figures", flush=True)
    rows = report.evaluate_entries(entries, quick=not args.full, progress=not args.quiet)
    print(report.text_table(rows))
    held = sum(c["holds"] for row in rows for c in row["claims"])
    total = sum(len(row["claims"]) for row in rows)
    print(f"\n{held} of {total} claims hold; the model cards (docs/zoo/<entry>.md) say "
          f"why the others do not.", flush=True)
    paths = report.write_report(rows, out)
    paths += report.all_figures(entries, out, progress=not args.quiet)
    print(f"\n{len(paths)} file(s) written; figures and tables in:")
    print(out.resolve())


def cmd_tune(args: argparse.Namespace) -> None:
    # keras_tuner and the chief/worker gRPC service (0.09-0.13 s more after the rest of
    # cli, measured on 2 busy cores): `geomae tune` alone pays it
    from geomae_tf.training import tuning

    try:
        tuning.tune_from_recipe(args.recipe, out_dir=args.out_dir, max_trials=args.max_trials,
                                chief=args.chief, worker=args.worker,
                                oracle_address=args.oracle_address, tuner_id=args.tuner_id,
                                connect_timeout=args.connect_timeout,
                                worker_timeout=args.worker_timeout)
    except tuning.TuneConnectionError as err:
        raise UsageError(str(err)) from None


def _number(kind, minimum, exclusive=False, below=None):
    """An argparse `type`: `kind` (int or float) at least `minimum` (above it
    when `exclusive`; under `below` when given), so that a bad number exits 2
    before any work, as a bad recipe value does."""
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {'an int' if kind is int else 'a number'}"
                                             f", not {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) \
                or value < minimum or (exclusive and value == minimum) \
                or (below is not None and value >= below):
            bound = f"> {minimum:g}" if exclusive else f">= {minimum:g}"
            if below is not None:
                bound += f" and < {below:g}"
            raise argparse.ArgumentTypeError(f"must be {bound}, not {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its messages
    return parse


POSITIVE_INT = _number(int, 1)
NON_NEGATIVE_INT = _number(int, 0)
POSITIVE_FLOAT = _number(float, 0.0, exclusive=True)


def _reference(text):
    """`--reference`: a training sample's index, or "mean"."""
    if text == "mean":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int (a training sample) or 'mean', "
                                         f"not {text!r}") from None


def cmd_navigate(args: argparse.Namespace) -> None:
    entry = _entries([args.entry])[0]
    result = entry_navigation.navigate_entry(
        entry, out_dir=args.out, n_codes=args.n_codes, recipe=args.recipe,
        reference=args.reference, block=args.block, steps=args.steps,
        quantile=args.quantile, fps=args.fps, atom_only=args.atom_only)
    if result["block"] is not None:
        print(f"{entry}: block {result['block']} (coordinates {result['axes']})")
    for gif, strip in zip(result["gifs"], result["strips"]):
        print(gif)
        print(strip)
    print(result["npz"])


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: ...)" to an option's help unless the help already says
    its default or the option is off (None, False) unless given."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="geomae", description=__doc__.splitlines()[0],
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"geomae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train zoo entries from their recipes (zoo/*.toml)")
    p.add_argument("recipes", nargs="+", help="recipe files, e.g. zoo/disk_ae.toml")
    p.add_argument("--out-dir", default="runs", help="run folders (logs, backups)")
    p.add_argument("--saved-models", default="saved_models",
                   help="where --publish publishes (saved_models/<entry>/<version>/)")
    p.add_argument("--epochs", type=POSITIVE_INT, default=None,
                   help="override the recipe's epochs (such a run is never published)")
    p.add_argument("--no-export", action="store_true",
                   help="do not export the model into the run folder")
    p.add_argument("--no-evaluate", action="store_true", help="skip held-out evaluation")
    p.add_argument("--check", action="store_true",
                   help="check the recipes (every value, the model they build, the first "
                        "batch of their data, and with --publish where they would go), "
                        "then stop: nothing is trained or written")
    p.add_argument("--publish", action="store_true",
                   help="publish the finished run to saved_models/<entry>/<version>/ and "
                        "<recipe>.results.json (default: a new version)")
    p.add_argument("--version", type=POSITIVE_INT, default=None,
                   help="with --publish: the version to publish to (default: the recipe's "
                        "[export] version, else one above the latest)")
    p.add_argument("--force", action="store_true",
                   help="with --publish: replace an existing version")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 progress bar, 2 one line per epoch")
    p.add_argument("--devices", type=POSITIVE_INT, default=1,
                   help="train data-parallel on N devices of this host (KERAS_BACKEND jax or "
                        "tensorflow; the recipe's batch_size is the global batch; on a CPU, "
                        "XLA_FLAGS=--xla_force_host_platform_device_count=N splits it)")
    p.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                   help="multi-process training (KERAS_BACKEND=jax, one process per host): "
                        "where process 0 listens (default: KERAS_DISTRIBUTION_JOB_ADDRESSES)")
    p.add_argument("--num-processes", type=POSITIVE_INT, default=None,
                   help="the number of processes (default: KERAS_DISTRIBUTION_NUM_PROCESSES, "
                        "else 1); --devices is then per process")
    p.add_argument("--process-id", type=NON_NEGATIVE_INT, default=None,
                   help="this process's id, 0..N-1; process 0 writes the results "
                        "(default: KERAS_DISTRIBUTION_PROCESS_ID)")
    p.add_argument("--coordinator-timeout", type=POSITIVE_INT, default=None,
                   metavar="SECONDS",
                   help="seconds to wait for the coordinator and the other processes "
                        "(default: 120)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("tune", help="Keras Tuner sweep of the regularisation weight lambda")
    p.add_argument("recipe", help="a recipe with a [tune] section")
    p.add_argument("--out-dir", default="runs/tune",
                   help="tuner folder (trials, the lambda table and plot)")
    p.add_argument("--max-trials", type=POSITIVE_INT, default=None,
                   help="trials to run (default: one per lambda of the recipe's [tune])")
    role = p.add_mutually_exclusive_group()
    role.add_argument("--chief", action="store_true",
                      help="distributed sweep: serve the oracle (trains nothing) and write "
                           "the results when the workers are done")
    role.add_argument("--worker", action="store_true",
                      help="distributed sweep: pull trials from the chief (same recipe, "
                           "--out-dir shared with the chief)")
    p.add_argument("--oracle-address", default=None, metavar="HOST:PORT",
                   help="the chief's oracle (default: KERASTUNER_ORACLE_IP and "
                        "KERASTUNER_ORACLE_PORT)")
    p.add_argument("--tuner-id", default=None,
                   help="a worker's unique name (default: KERASTUNER_TUNER_ID, else "
                        "<hostname>-<pid>)")
    p.add_argument("--connect-timeout", type=POSITIVE_FLOAT, default=60.0,
                   help="seconds a worker waits for the chief before it gives up")
    p.add_argument("--worker-timeout", type=POSITIVE_FLOAT, default=60.0,
                   help="seconds of silence after which the chief counts a worker as lost "
                        "and queues its trial again")
    p.set_defaults(func=cmd_tune)

    p = sub.add_parser("evaluate", help="metrics of zoo entries on fresh data")
    p.add_argument("entries", nargs="*", help="zoo entries (default: every trained one)")
    p.add_argument("--out", default="reports", help="folder for evaluation.json/.md")
    p.add_argument("--quick", action="store_true", help="smaller held-out sets")
    p.add_argument("--readme", default=None,
                   help="also rewrite the zoo table of this README (between its markers) "
                        "from the recorded results the model cards report")
    p.add_argument("--cards", nargs="?", const=True, default=None, metavar="DIR",
                   help="only rewrite the model cards (default folder: docs/zoo of this "
                        "checkout, and then the zoo table of its README.md) from the "
                        "results recorded with each entry's latest version; evaluates "
                        "nothing")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="(re)write the SavedModel of zoo entries")
    p.add_argument("entries", nargs="*", help="zoo entries (default: every trained one)")
    p.add_argument("--saved-models", default="saved_models",
                   help="root of the SavedModels (<root>/<entry>/<version>/)")
    p.add_argument("--version", type=POSITIVE_INT, default=None,
                   help="version folder to write for ENTRY (required; a new one becomes "
                        "the version zoo.load and TF Serving use)")
    p.add_argument("--force", action="store_true",
                   help="allow --version to name an existing version (rewritten in place)")
    p.add_argument("--model", default=None,
                   help="a model you trained (.keras): export it to --out instead of "
                        "zoo entries")
    p.add_argument("--out", default=None,
                   help="with --model: the base path; the SavedModel goes to OUT/<version>/ "
                        "(--version, default one above the latest in OUT)")
    p.add_argument("--refresh-config", action="store_true",
                   help="only rewrite saved_models/models.config")
    p.add_argument("--serve-root", default=None,
                   help="base path written in models.config (default: this checkout's "
                        "saved_models, absolute; e.g. /models inside docker)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("figures", help="the papers' figures for zoo entries")
    p.add_argument("entries", nargs="*", help="zoo entries (default: every trained one)")
    p.add_argument("--out", default="figures", help="folder of the figures (one per entry)")
    p.add_argument("--docs", action="store_true",
                   help="draw the small PNGs of docs/figures/ shown in the README and the "
                        "model cards (to --out when given)")
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("demo", help="evaluate every trained entry and draw its figures")
    p.add_argument("--out", default="demo_output",
                   help="folder of evaluation.json/.md and the figures")
    p.add_argument("--full", action="store_true",
                   help="the recipes' full held-out sets (default: 300 samples per entry)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("navigate", help="sweep latent coordinates of an entry: GIFs and "
                                        "PNG strips between the training codes' bounds")
    p.add_argument("entry", help="a zoo entry with a decoder, e.g. atomic_spikes")
    p.add_argument("--block", type=NON_NEGATIVE_INT, default=None,
                   help="atomic entries: the block (from 0) whose d0 coordinates are swept "
                        "(default: the brightest atom of the reference)")
    p.add_argument("--steps", type=_number(int, 2), default=16, help="frames per GIF")
    p.add_argument("--quantile", type=_number(float, 0.0, below=0.5), default=0.01,
                   help="bounds: this quantile and 1 - it of the training codes "
                        "(0: min and max)")
    p.add_argument("--reference", type=_reference, default=0,
                   help="the other coordinates' values: a training sample's code (its "
                        "index; default: 0, the first) or 'mean'")
    p.add_argument("--n-codes", type=POSITIVE_INT, default=1000,
                   help="training inputs encoded for the bounds")
    p.add_argument("--fps", type=POSITIVE_FLOAT, default=8.0, help="GIF frames per second")
    p.add_argument("--atom-only", action="store_true",
                   help="atomic entries: show the swept block's atom alone")
    p.add_argument("--recipe", default=None,
                   help="the entry's recipe (default: zoo/<entry>.toml)")
    p.add_argument("--out", default="figures/navigation", help="folder of the GIFs and strips")
    p.set_defaults(func=cmd_navigate)
    for subparser in sub.choices.values():
        subparser.formatter_class = _HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.quiet_tensorflow()  # TensorFlow's start-up notes held back, real warnings kept
    try:
        with _keyboard_interrupts():
            args.func(args)
    except (UsageError, RecipeError, FileNotFoundError, RunFolderLocked) as err:
        print(f"geomae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"geomae {args.command}: interrupted. {_interrupted_note(args)}",
              file=sys.stderr)
        return 130
    except ValueError as err:
        print(f"geomae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except ExportError as err:  # training finished; its SavedModel could not be written
        print(f"geomae {args.command}: export failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
