"""Command line: ``sknas fit``, ``predict`` and ``info``; ``sknas worker`` joins a search.

Usage::

    sknas fit train.csv --target label --n-trials 20 --out model.sknas
    sknas predict model.sknas new.csv --out predictions.csv
    sknas info model.sknas
    sknas worker --storage postgresql://user:pw@host/db --study NAME
    python -m sknas worker --storage sqlite:///search.db --study NAME

User errors of ``fit``, ``predict`` and ``info`` (a missing column, an unreadable
file, a wrong task) print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _worker(args: argparse.Namespace) -> int:
    import optuna
    import skorch  # noqa: F401 - load the training stack before the search appears
    import torch

    from sknas.estimators._checks import check_device_for_task, resolve_device
    from sknas.estimators._job import JobPayloadError, fetch_job
    from sknas.estimators._storage import spec_from_url

    device = None
    if args.device is not None:
        try:
            device = resolve_device(args.device)
        except ValueError as exc:
            print(f"sknas worker: --device: {exc}", file=sys.stderr)
            return 1
    if args.n_threads is not None:
        torch.set_num_threads(args.n_threads)
    spec = spec_from_url(args.storage, args.heartbeat_interval, args.grace_period)
    try:
        storage = spec.open()
    except ValueError as exc:
        print(f"sknas worker: {exc}", file=sys.stderr)
        return 1
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"sknas worker {os.getpid()}: waiting for study {args.study!r}", flush=True)
    deadline = time.monotonic() + args.wait
    job = study = None
    while True:
        try:
            study = optuna.load_study(study_name=args.study, storage=storage)
            job = fetch_job(study, allowed_spaces=args.allow_space)
        except KeyError:
            job = None
        except JobPayloadError as exc:
            print(f"sknas worker: {exc}", file=sys.stderr)
            return 1
        if job is not None or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if job is None or study is None:
        print(
            f"sknas worker: no search named {args.study!r} was published in {spec.describe()} "
            f"within {args.wait:g} s; start the search with the same storage and "
            "study_name first.",
            file=sys.stderr,
        )
        return 1
    if device is not None:
        try:
            check_device_for_task(device, job.estimator._task)
        except ValueError as exc:
            print(f"sknas worker: --device: {exc}", file=sys.stderr)
            return 1
        job.device = device
    print(
        f"sknas worker {os.getpid()}: joined study {args.study!r} on {job.device}", flush=True
    )
    outcome = job.run(study, worker_index=os.getpid())
    print(
        f"sknas worker {os.getpid()}: ran {outcome.n_run} trials in {outcome.elapsed:.1f} s"
        + (" (interrupted)" if outcome.interrupted else ""),
        flush=True,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``sknas`` argument parser."""
    from sknas.estimators._storage import GRACE_PERIOD, HEARTBEAT_INTERVAL

    parser = argparse.ArgumentParser(prog="sknas", description="sknas command line")
    commands = parser.add_subparsers(dest="command", required=True)
    worker = commands.add_parser(
        "worker",
        help="join a running search through its Optuna storage",
        description=(
            "Join a search started by NASClassifier/NASRegressor(storage=URL, "
            "study_name=NAME).fit(...). The data and the search configuration are read "
            "from the storage; the worker evaluates candidates until the search's "
            "n_trials are reached."
        ),
    )
    worker.add_argument("--storage", required=True, help="Optuna storage URL or journal:<path>")
    worker.add_argument("--study", required=True, help="study name")
    worker.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for the search to appear"
    )
    worker.add_argument("--n-threads", type=int, default=None, help="torch threads")
    worker.add_argument(
        "--device",
        default=None,
        help=(
            "torch device of this worker ('cpu', 'cuda:1', 'auto'); default: the device "
            "of the process that started the search"
        ),
    )
    worker.add_argument(
        "--allow-space",
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help=(
            "a custom search-space class the published search may name (repeatable); "
            "registered spaces need none, and nothing else is imported"
        ),
    )
    worker.add_argument("--heartbeat-interval", type=int, default=HEARTBEAT_INTERVAL)
    worker.add_argument("--grace-period", type=int, default=GRACE_PERIOD)
    from sknas._cli_model import add_model_commands

    add_model_commands(commands)
    return parser


def _model_command(args: argparse.Namespace) -> int:
    from sknas._cli_data import CommandError
    from sknas._cli_model import run_fit, run_info, run_predict

    run = {"fit": run_fit, "predict": run_predict, "info": run_info}[args.command]
    try:
        return run(args)
    except CommandError as exc:
        print(f"sknas {args.command}: error: {exc}", file=sys.stderr)
        return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``sknas`` command line."""
    args = build_parser().parse_args(argv)
    if args.command == "worker":
        return _worker(args)
    if args.command in ("fit", "predict", "info"):
        return _model_command(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
