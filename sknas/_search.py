"""The one search loop: ask -> decode -> evaluate -> tell.

Estimators and the benchmark runner both drive their studies through
:func:`run_search`, so a strategy behaves the same whether it trains networks
or looks their scores up in a table.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.storages import fail_stale_trials
from optuna.trial import FrozenTrial, TrialState

from sknas import _interrupts
from sknas._optuna_compat import heartbeat, heartbeat_enabled, stop_requested, stoppable
from sknas.spaces.base import Architecture, SearchSpace

__all__ = ["run_search", "SearchOutcome", "ARCH_KEY_ATTR", "FAIL_REASON_ATTR"]

ARCH_KEY_ATTR = "architecture"
FAIL_REASON_ATTR = "fail_reason"
DUPLICATE_ATTR = "duplicate_of"
#: Fail reason of the trial that a Ctrl-C (``KeyboardInterrupt``) stopped.
INTERRUPTED_REASON = "interrupted (KeyboardInterrupt)"

_STARTED_STATES = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

_logger = logging.getLogger(__name__)

Objective = Callable[[optuna.Trial, Architecture], "float | Sequence[float]"]
TrialCallback = Callable[[optuna.Study, FrozenTrial], None]


@dataclass
class SearchOutcome:
    """What happened in one call of :func:`run_search`.

    Attributes
    ----------
    n_run : int
        Trials started in this call (finished, pruned or failed).
    interrupted : bool
        True when a ``KeyboardInterrupt`` (Ctrl-C) stopped the loop; the trial
        it stopped is FAIL with the reason :data:`INTERRUPTED_REASON`.
    timed_out : bool
        True when the ``timeout`` stopped the loop before ``n_trials``.
    elapsed : float
        Wall-clock seconds spent in the loop.
    """

    n_run: int
    interrupted: bool
    timed_out: bool
    elapsed: float


def _completed_by_key(study: optuna.Study) -> dict[str, FrozenTrial]:
    done: dict[str, FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        key = trial.user_attrs.get(ARCH_KEY_ATTR)
        if key is not None and key not in done:
            done[key] = trial
    return done


def _values_of(trial: FrozenTrial) -> float | list[float]:
    assert trial.values is not None
    return trial.values[0] if len(trial.values) == 1 else list(trial.values)


def suggest_params(
    trial: optuna.Trial, distributions: Mapping[str, BaseDistribution]
) -> dict[str, Any]:
    """Suggest every parameter of ``distributions`` through the trial's ``suggest_*`` calls.

    The same as ``study.ask(fixed_distributions=distributions)``, but run
    after ``ask``: an error (a distribution that the study's earlier trials
    contradict, say) is raised once the caller holds the trial and can fail it.
    """
    params: dict[str, Any] = {}
    for name, dist in distributions.items():
        if isinstance(dist, FloatDistribution):
            params[name] = trial.suggest_float(
                name, dist.low, dist.high, step=dist.step, log=dist.log
            )
        elif isinstance(dist, IntDistribution):
            params[name] = trial.suggest_int(
                name, dist.low, dist.high, step=dist.step, log=dist.log
            )
        elif isinstance(dist, CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, dist.choices)  # type: ignore[arg-type]
        else:
            raise TypeError(f"Unsupported distribution {type(dist).__name__} for {name!r}.")
    return params


def _fail_if_running(study: optuna.Study, trial: optuna.Trial, exc: BaseException) -> None:
    """Tell ``FAIL`` for a trial that an escaping exception left running, keeping why."""
    try:
        trial.set_user_attr(FAIL_REASON_ATTR, f"{type(exc).__name__}: {exc}")
    except RuntimeError:  # UpdateFinishedTrialError: it was told already
        return
    try:
        study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
    except Exception as error:  # the original exception matters more
        _logger.warning("Could not mark trial %d as failed: %s", trial.number, error)


def _fail_interrupted(study: optuna.Study, trial: optuna.Trial) -> None:
    """Mark ``trial`` FAIL as interrupted (unless it was told before the interrupt)."""
    try:
        trial.set_user_attr(FAIL_REASON_ATTR, INTERRUPTED_REASON)
        study.tell(trial, state=TrialState.FAIL)
    except (ValueError, RuntimeError):
        pass  # already finished: the interrupt came after it was told


def run_search(
    study: optuna.Study,
    search_space: SearchSpace,
    objective: Objective,
    *,
    n_trials: int,
    timeout: float | None = None,
    catch: bool = True,
    callbacks: Sequence[TrialCallback] = (),
    max_study_trials: int | None = None,
) -> SearchOutcome:
    """Run up to ``n_trials`` trials of ``study`` over ``search_space``.

    Each trial's parameters are asked from the study's sampler over
    ``search_space.distributions()``, decoded into an :class:`Architecture`,
    evaluated by ``objective`` and told back to the study. An architecture that
    an earlier finished trial already evaluated is answered from that trial
    (its values are copied, nothing is trained), so a budget is never spent
    twice on one network.

    Parameters
    ----------
    study : optuna.Study
        The study to extend; its sampler decides the proposals.
    search_space : SearchSpace
        Decodes the parameters of each trial.
    objective : callable
        ``objective(trial, arch)`` returns the value (or values) to tell.
        It may raise ``optuna.TrialPruned``.
    n_trials : int
        Most trials to start in this call.
    timeout : float, optional
        Seconds after which no new trial starts.
    catch : bool, default=True
        If True, an exception from ``objective`` marks the trial FAIL (the
        reason is kept in the trial's ``fail_reason`` user attribute) and the
        search goes on; if False it is re-raised after the trial is marked.
    callbacks : sequence of callable
        Called as ``callback(study, frozen_trial)`` after each trial; one that
        calls ``study.stop()`` ends the loop (no further trial starts).
    max_study_trials : int, optional
        Stop once the study holds this many trials (from every worker), so
        that several processes sharing a study stop at a common budget.

    Returns
    -------
    SearchOutcome
    """
    distributions = search_space.distributions()
    done = _completed_by_key(study)
    beats = heartbeat_enabled(study)
    start = time.perf_counter()
    n_run = 0
    interrupted = timed_out = False
    current: optuna.Trial | None = None  # asked, not told yet
    try:
        while n_run < n_trials:
            _interrupts.check()  # a Ctrl-C received between trials stops here
            if timeout is not None and time.perf_counter() - start >= timeout:
                timed_out = True
                break
            if beats:
                # Trials of workers that stopped beating (killed, lost) become FAIL.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fail_stale_trials(study)
            if max_study_trials is not None:
                started = study.get_trials(deepcopy=False, states=_STARTED_STATES)
                if len(started) >= max_study_trials:
                    break
                done.update(_completed_by_key(study))
            with warnings.catch_warnings():
                # Heartbeats are driven here, as Study.optimize would.
                warnings.filterwarnings("ignore", message="Heartbeat of storage")
                trial = current = study.ask()
            n_run += 1
            try:
                arch = search_space.decode(suggest_params(trial, distributions))
                key = arch.key()
                trial.set_user_attr(ARCH_KEY_ATTR, key)
                previous = done.get(key)
                if previous is not None:
                    for name, value in previous.user_attrs.items():
                        if name != ARCH_KEY_ATTR:
                            trial.set_user_attr(name, value)
                    trial.set_user_attr(DUPLICATE_ATTR, previous.number)
                    frozen = study.tell(trial, _values_of(previous))
                else:
                    with heartbeat(study, trial), _interrupts.interruptible():
                        values = objective(trial, arch)
                    frozen = study.tell(trial, values)
                    if frozen.state == TrialState.COMPLETE:
                        done.setdefault(key, frozen)
            except optuna.TrialPruned:
                frozen = study.tell(trial, state=TrialState.PRUNED)
            except Exception as exc:  # a failed candidate must not end the search
                trial.set_user_attr(FAIL_REASON_ATTR, f"{type(exc).__name__}: {exc}")
                frozen = study.tell(trial, state=TrialState.FAIL)
                if not catch:
                    raise
            finally:
                escaping = sys.exc_info()[1]
                # Never leave a trial RUNNING behind an exception; an interrupt is
                # recorded as such by the handler below.
                if escaping is not None and not isinstance(escaping, KeyboardInterrupt):
                    _fail_if_running(study, trial, escaping)
            current = None
            if callbacks:
                with stoppable(study):
                    for callback in callbacks:
                        callback(study, frozen)
                    if stop_requested(study):
                        break
    except KeyboardInterrupt:
        interrupted = True
        _interrupts.note()
        if current is not None:
            with _interrupts.shielded():
                _fail_interrupted(study, current)
    return SearchOutcome(n_run, interrupted, timed_out, time.perf_counter() - start)
