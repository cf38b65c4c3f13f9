"""One process of a multi-process `geomae train` run (run as a script).

Started twice by `test_multiprocess.py`, as process 0 and process 1 of a run
coordinated on 127.0.0.1, with `KERAS_BACKEND=jax`:

    python multiprocess_worker.py SCRATCH -- train RECIPE --coordinator 127.0.0.1:PORT
        --num-processes 2 --process-id I --out-dir ... --no-export --no-evaluate

The arguments after `--` go through `geomae`'s own parser and reach
`trainer.train` as `geomae train` passes them; the process then saves the
weights it ended with to `SCRATCH/weights-<I>.npz` (so that the test can
compare the processes) and prints one JSON line: its results.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from geomae_tf import cli  # noqa: E402
from geomae_tf.training import distribute, trainer  # noqa: E402


def main():
    scratch, argv = Path(sys.argv[1]), sys.argv[sys.argv.index("--") + 1:]
    args = cli.build_parser().parse_args(argv)
    model, results = trainer.train(args.recipes[0], out_dir=args.out_dir, verbose=0,
                                   export=not args.no_export, evaluate=not args.no_evaluate,
                                   devices=args.devices, processes=cli._processes(args))
    index = distribute.process_index()
    np.savez(scratch / f"weights-{index}.npz", *model.get_weights())
    print(json.dumps(dict(results, process_index=index,
                          process_count=distribute.process_count())))


if __name__ == "__main__":
    main()
