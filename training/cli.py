"""Command line: ``python -m training train|queue|teacher|tables|list|cost|evaluate|export|benchmark|digits``.

``evaluate --json`` is a contract other tools rely on: it prints exactly one JSON object on stdout
(``accuracy``, ``macro_f1``, ``per_class``, ``confusion_matrix``, ``class_names``, ``samples``,
``model``, ...); everything else a command says goes to stderr. With ``--labels ferplus`` the object also
carries ``ferplus``: the same metrics against the FER+ majority (:func:`training.ferplus.majority_metrics`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from inference.predictor import ModelError
from training.data import DEFAULT_DATA_ROOT, DataError
from training.ferplus import FERPLUS_ROOT, LABEL_SETS

FER_ROOT = DEFAULT_DATA_ROOT / "fer2013"
MNIST_ROOT = DEFAULT_DATA_ROOT / "mnist"
REPORTS_ROOT = Path("runs") / "reports"
MODELS_DIR = Path("inference") / "models"
BENCHMARK_OUT = Path("benchmarks") / "results" / "fer_model.json"
COST_STEPS = 20


def _train(args: argparse.Namespace) -> int:
    import dataclasses

    from training.architectures import get_architecture
    from training.recipes import get_recipe, recipe_for
    from training.train import TrainConfig, train

    arch = get_architecture(args.arch)
    recipe = get_recipe(args.recipe) if args.recipe else recipe_for(arch)
    recipe = dataclasses.replace(recipe, epochs=args.epochs or recipe.epochs, batch_size=args.batch_size or recipe.batch_size)
    config = TrainConfig(
        train_data=args.train,
        test_data=args.test,
        out_dir=args.out or Path("runs") / (arch.name if not args.recipe else f"{arch.name}-{args.recipe}"),
        recipe=recipe,
        seed=args.seed,
        validation_share=args.validation_share,
        teacher=args.teacher,
        labels=args.labels,
        # FER+ labels read the default votes unless told otherwise; FER2013 runs score FER+ only when asked.
        ferplus=args.ferplus or (FERPLUS_ROOT if args.labels != "fer2013" else None),
        initial_weights=args.init,
        checkpoint_every=args.checkpoint_every,
        command=args.command_line,
    )
    summary = train(arch, config)
    print(json.dumps(summary.get("public_test", {}) | {"architecture": arch.name, "validation_accuracy": summary["validation_accuracy"]}))
    return 0


def _queue(args: argparse.Namespace) -> int:
    from training.queue import read_plan, run_plan

    trained = run_plan(
        read_plan(args.plan),
        train_data=args.train,
        test_data=args.test,
        runs_dir=args.runs,
        command=args.command_line,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(json.dumps({"trained": trained}))
    return 0


def _teacher(args: argparse.Namespace) -> int:
    import numpy as np

    from training.data import load
    from training.metrics import classification_metrics
    from training.teacher import ensemble_soft_labels

    dataset = load(args.train)
    soft = ensemble_soft_labels(args.models, dataset, tta=args.tta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.out, soft)
    fitted = classification_metrics(dataset.labels, soft, dataset.class_names)
    print(
        json.dumps(
            {"out": str(args.out), "faces": len(soft), "models": [str(m) for m in args.models], "train_accuracy": fitted["accuracy"]}
        )
    )
    return 0


def _tables(args: argparse.Namespace) -> int:
    from training.tables import architecture_table, label_table, read_digits, read_end_to_end, read_results, recipe_table, update_card

    results = read_results(args.results)
    if args.card:
        update_card(args.card, results, read_digits(args.results), read_end_to_end())
    print(
        "## Recipes (vggnet_s)\n\n"
        + recipe_table(results)
        + "\n## Architectures, each with its own recipe, under one budget of training time\n\n"
        + architecture_table(results, read_digits(args.results))
        + "\n## Label sets: the FER2013 model fine-tuned on each\n\n"
        + label_table(results)
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    from training.architectures import ARCHITECTURES
    from training.cost import CPU_BUDGET_HOURS, read_costs

    costs = read_costs()["architectures"]
    print(f"{'architecture':<22} {'parameters':>11} {'s/epoch':>8} {'recipe':>14}  cpu         description")
    for name, arch in ARCHITECTURES.items():
        cost = costs.get(name)
        if cost is None:
            parameters, per_epoch, recipe, feasible = f"{arch.build((48, 48, 1), 7).count_params():,}", "?", "not measured", "?"
        else:
            parameters, per_epoch = f"{cost['parameters']:,}", f"{cost['epoch_seconds']:.0f}"
            recipe = f"{arch.epochs} ep {cost['recipe_hours']:.1f} h"
            feasible = "feasible" if cost["cpu_feasible"] else "INFEASIBLE"
        print(f"{name:<22} {parameters:>11} {per_epoch:>8} {recipe:>14}  {feasible:<10}  {arch.description}")
    measured = sorted({f"{cost['date']} on {cost['machine']}, {cost['conditions']}" for cost in costs.values()})
    print("\ns/epoch: FER2013 Training + PublicTest at the recipe's batch size, extrapolated from a short timed run")
    print(f"measured {'; '.join(measured)}")
    print(f"infeasible on CPU: the whole recipe would take more than {CPU_BUDGET_HOURS:g} h on this machine")
    return 0


def _cost(args: argparse.Namespace) -> int:
    from training.architectures import ARCHITECTURES, get_architecture
    from training.cost import measure_epoch_seconds, record_costs

    names = args.arch or list(ARCHITECTURES)
    measured = {}
    for name in names:
        measured[name] = measure_epoch_seconds(get_architecture(name), steps=args.steps, batch_size=args.batch_size)
        print(json.dumps({"architecture": name} | measured[name]), flush=True)
    if args.record:
        record_costs(measured, conditions=args.conditions)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from training.data import load
    from training.evaluate import evaluate, resolve_model
    from training.report import write_report

    if args.log is not None and not args.log.is_file():
        raise FileNotFoundError(f"--log {args.log} does not exist")
    model_path = resolve_model(args.model)
    dataset = load(args.data)
    result, probs = evaluate(model_path, dataset, tta=args.tta)
    if args.labels == "ferplus":
        from training.ferplus import ferplus_csv, load_ferplus, majority_metrics

        # The FER2013 figures stay at the top level (the --json contract); the FER+ majority's sit beside them.
        result["ferplus"] = majority_metrics(load_ferplus(args.data, ferplus_csv(args.ferplus, args.data), dataset=dataset), probs)
    report_dir = args.report or REPORTS_ROOT / model_path.stem
    log = args.log or model_path.parent / "log.csv"
    result["report"] = [str(p) for p in write_report(report_dir, result, dataset.labels, probs, log if log.is_file() else None)]
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['model']}: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f} on {result['samples']} faces")
        if "ferplus" in result:
            fp = result["ferplus"]
            print(
                f"against the FER+ majority: accuracy {fp['accuracy']:.4f}, macro-F1 {fp['macro_f1']:.4f} on {fp['samples']} faces "
                f"({fp['skipped']} without a FER+ majority in our classes skipped)"
            )
        print(f"report: {report_dir}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from training.export import export

    card = export(
        args.model,
        args.out,
        args.name,
        train_data=args.train,
        val_data=args.val,
        representative=args.representative,
        write_production=not args.candidate,
        ferplus=args.ferplus,
    )
    files = {
        f["file"]: {"accuracy": f["public_test"]["accuracy"], "macro_f1": f["public_test"]["macro_f1"]}
        | {f"faces_per_second_batch_{s['batch_size']}": s["faces_per_second"] for s in f["speed"]}
        for f in card["files"]
    }
    print(json.dumps({"production": card["production"], "files": files}))
    return 0


def _benchmark(args: argparse.Namespace) -> int:
    from training.benchmark import benchmark, default_models, format_table

    models = args.models or default_models(MODELS_DIR)
    result = benchmark(models, batch_size=args.batch_size, seconds=args.seconds, threads=args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(format_table(result))
    print(f"written to {args.out}", file=sys.stderr)
    return 0


def _digits(args: argparse.Namespace) -> int:
    from training.digits import train_digits

    result = train_digits(args.arch, epochs=args.epochs, data_root=args.data, out_dir=args.out, limit=args.limit)
    print(json.dumps(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a named architecture (resumes if interrupted)")
    train.add_argument("--arch", default="vggnet_s")
    train.add_argument("--train", type=Path, default=FER_ROOT / "train", help="training folder or CSV")
    train.add_argument("--test", type=Path, default=FER_ROOT / "test", help="PublicTest folder or CSV (reported, never selected on)")
    train.add_argument(
        "--no-test", dest="test", action="store_const", const=None, help="train without PublicTest (run again with --test to report it)"
    )
    train.add_argument("--out", type=Path, default=None, help="run folder (default runs/<arch>[-<recipe>])")
    train.add_argument("--recipe", default=None, help="a named recipe of training/recipes.py (default: the architecture's own)")
    train.add_argument("--epochs", type=float, default=None, help="a fraction cuts the last epoch short")
    train.add_argument("--batch-size", type=int, default=None)
    train.add_argument("--seed", type=int, default=1337)
    train.add_argument("--validation-share", type=float, default=0.1, help="stratified share of Training used for selection")
    train.add_argument("--teacher", type=Path, default=None, help="soft labels of every Training face (.npy) to distil from")
    train.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints")
    train.add_argument(
        "--labels", choices=LABEL_SETS, default="fer2013", help="fit FER2013's labels, FER+ vote distributions, or their mean"
    )
    train.add_argument(
        "--ferplus",
        type=Path,
        default=None,
        help=f"FER+ folder of <split>.csv votes (default {FERPLUS_ROOT} with --labels ferplus|both); also scores the FER+ majority",
    )
    train.add_argument("--init", type=Path, default=None, help="a trained .keras to start from (fine-tuning)")
    train.set_defaults(handler=_train)

    plan = commands.add_parser("queue", help="train a plan's runs in order, resuming the one in progress")
    plan.add_argument("plan", type=Path, help="JSON list of runs (training/plan.json)")
    plan.add_argument("--train", type=Path, default=FER_ROOT / "train", help="training folder or CSV")
    plan.add_argument("--test", type=Path, default=FER_ROOT / "test", help="PublicTest folder or CSV (reported, never selected on)")
    plan.add_argument("--runs", type=Path, default=Path("runs"), help="folder of the run folders (checkpoints)")
    plan.set_defaults(handler=_queue)

    teacher = commands.add_parser("teacher", help="soft labels of every Training face from an ensemble of trained models")
    teacher.add_argument("--models", type=Path, nargs="+", required=True, help="trained .keras files")
    teacher.add_argument("--train", type=Path, default=FER_ROOT / "train", help="training folder or CSV (the student's)")
    teacher.add_argument("--out", type=Path, required=True, help=".npy of (faces, classes) probabilities")
    teacher.add_argument("--tta", choices=("none", "flip", "ten_crop"), default="flip")
    teacher.set_defaults(handler=_teacher)

    tables = commands.add_parser("tables", help="the recipe, architecture and label-set tables (Markdown) from the committed run summaries")
    tables.add_argument("--results", type=Path, default=Path("training") / "results")
    tables.add_argument("--card", type=Path, default=None, help="also write both tables into this Markdown model card")
    tables.set_defaults(handler=_tables)

    listing = commands.add_parser("list", help="the architectures with parameters and measured CPU cost per epoch")
    listing.set_defaults(handler=_list)

    cost = commands.add_parser("cost", help="measure seconds per FER2013 epoch with a short timed run")
    cost.add_argument("--arch", action="append", help="architecture to measure (repeatable; default all)")
    cost.add_argument("--steps", type=int, default=COST_STEPS, help="training steps to time")
    cost.add_argument("--batch-size", type=int, default=None, help="default: the architecture's own")
    cost.add_argument("--record", action="store_true", help="record the figures in training/epoch_costs.json")
    cost.add_argument("--conditions", default="machine otherwise idle", help="what else ran meanwhile (recorded with the figures)")
    cost.set_defaults(handler=_cost)

    evaluate = commands.add_parser("evaluate", help="metrics and a report folder for a model on a labelled data set")
    evaluate.add_argument("--model", type=Path, default=None, help=".keras or .tflite (default: the production model inference/ serves)")
    evaluate.add_argument("--data", type=Path, required=True, help="labelled folder or Kaggle CSV")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    evaluate.add_argument("--report", type=Path, default=None, help=f"report folder (default {REPORTS_ROOT}/<model stem>)")
    evaluate.add_argument("--log", type=Path, default=None, help="per-epoch log.csv for learning curves (default: next to the model)")
    evaluate.add_argument(
        "--tta", choices=("none", "flip", "ten_crop"), default="none", help="test-time augmentation: mirror images, or ten crops"
    )
    evaluate.add_argument(
        "--labels",
        choices=("fer2013", "ferplus"),
        default="fer2013",
        help="ferplus: also score against the FER+ majority (key 'ferplus'; ties and contempt/unknown/NF pluralities skipped)",
    )
    evaluate.add_argument("--ferplus", type=Path, default=FERPLUS_ROOT, help="FER+ folder of <split>.csv votes (--data's folder name)")
    evaluate.set_defaults(handler=_evaluate)

    export = commands.add_parser("export", help="write .keras, float16 and int8 LiteRT files, model cards and production.json")
    export.add_argument("--model", type=Path, required=True, help="trained .keras (e.g. runs/vggnet_s/best.keras)")
    export.add_argument("--out", type=Path, default=MODELS_DIR)
    export.add_argument("--name", required=True, help="file stem of the exported files and cards")
    export.add_argument("--train", type=Path, default=FER_ROOT / "train", help="Training folder or CSV (int8 calibration faces)")
    export.add_argument("--val", type=Path, default=FER_ROOT / "test", help="PublicTest folder or CSV (accuracy of each file)")
    export.add_argument("--representative", type=int, default=500, help="training faces used to calibrate int8")
    export.add_argument(
        "--candidate", action="store_true", help="leave production.json alone: the files are a candidate for whoever swaps the model"
    )
    export.add_argument(
        "--ferplus", type=Path, help="FER+ folder of <split>.csv votes: also score each file against the FER+ majority (default: the run's)"
    )
    export.set_defaults(handler=_export)

    bench = commands.add_parser("benchmark", help="faces/s and latency per batch of exported models on this machine")
    bench.add_argument("--models", type=Path, nargs="+", default=None, help=f"model files (default: the .keras/.tflite in {MODELS_DIR})")
    bench.add_argument("--out", type=Path, default=BENCHMARK_OUT)
    bench.add_argument("--batch-size", type=int, default=64, help="the batched size measured besides batch 1")
    bench.add_argument("--seconds", type=float, default=5.0, help="time spent timing each batch size of each model")
    bench.add_argument("--threads", type=int, default=None, help="FER_THREADS for LiteRT (default: the predictor's own)")
    bench.set_defaults(handler=_benchmark)

    digits = commands.add_parser("digits", help="train and test seed 000's MNIST digit CNN (seed) or a stronger one (strong)")
    digits.add_argument("--arch", choices=("seed", "strong"), default="seed")
    digits.add_argument("--epochs", type=int, default=None, help="default: the architecture's own")
    digits.add_argument("--data", type=Path, default=MNIST_ROOT, help="folder with the gzipped IDX files")
    digits.add_argument("--out", type=Path, default=Path("runs") / "digits")
    digits.add_argument("--limit", type=int, default=None, help="train on the first N images only (smoke runs)")
    digits.set_defaults(handler=_digits)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["python", "-m", "training", *argv])
    try:
        result: int = args.handler(args)
    except (DataError, ModelError, FileNotFoundError, KeyError) as error:
        print(f"python -m training {args.command}: error: {error.args[0] if isinstance(error, KeyError) else error}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
