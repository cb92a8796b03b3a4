"""Callbacks: event name -> list of callables, fired by the training loop.

Events and the keyword arguments each callable receives (always ``run``, the
:class:`genreg.training.loop.TrainingRun`, first):

``train_start``     run
``step_start``      run, step                  (step about to be computed, 1-based)
``critic_step``     run, step, index, terms    (adversarial: one per critic update;
                                                 terms: dict of 0-d detached loss tensors)
``generator_step``  run, step, terms           (adversarial: the generator update)
``step_end``        run, step, metrics         (metrics: dict of 0-d tensors of this step)
``log``             run, step, record          (record: the dict written to metrics.jsonl)
``eval``            run, step, path            (a sample figure was written to path)
``checkpoint``      run, step, path            (a checkpoint directory was completed)
``exception``       run, step, error           (training stopped on an exception)
``train_end``       run, result

The loop fires every event (trainers hold no callbacks); the events of a step's optimiser
updates (``critic_step``, ``generator_step``) fire after the step, in update order, so a
step can run as one CUDA graph. Callables are called in registration order on the process of every rank; check
``run.dist.is_main`` for rank-0-only work. Users pass them to ``genreg.train(...,
callbacks=...)`` as a mapping ``{event: callable or [callables]}`` or as objects with
``on_<event>`` methods. Command-line runs (and plugins' users) name them in the config:
``train.callbacks=package.module:attr,...``; the attribute is such a mapping or object,
or a class, which is instantiated without arguments. Callbacks stored in a run's config are
not loaded on ``--resume`` unless named again or allowed with ``--trust-callbacks``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable, Mapping

from ..errors import UsageError

EVENTS = ("train_start", "step_start", "critic_step", "generator_step", "step_end", "log", "eval",
          "checkpoint", "exception", "train_end")


class Callbacks:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = defaultdict(list)

    def on(self, event: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if event not in EVENTS:
            raise UsageError(f"unknown training event {event!r}; events are: {', '.join(EVENTS)}")
        if not callable(fn):
            raise UsageError(f"callback for {event!r} is not callable: {fn!r}")
        self._handlers[event].append(fn)
        return fn

    def add(self, spec: Any) -> None:
        """Add a mapping ``{event: fn | [fns]}`` or an object with ``on_<event>`` methods."""
        if spec is None:
            return
        if isinstance(spec, Mapping):
            for event, fns in spec.items():
                for fn in (fns if isinstance(fns, (list, tuple)) else [fns]):
                    self.on(event, fn)
            return
        found = False
        for event in EVENTS:
            method = getattr(spec, f"on_{event}", None)
            if callable(method):
                self.on(event, method)
                found = True
        if not found:
            raise UsageError(f"callback object {type(spec).__name__} has no on_<event> method; "
                             f"events are: {', '.join(EVENTS)}")

    def extend(self, specs: Iterable[Any]) -> None:
        for spec in specs:
            self.add(spec)

    def has(self, event: str) -> bool:
        return bool(self._handlers.get(event))

    def fire(self, event: str, run: Any, **info: Any) -> None:
        for fn in self._handlers.get(event, ()):
            fn(run, **info)


def load_spec(spec: str) -> Any:
    """The callbacks named by ``"package.module:attr"`` (a class is instantiated)."""
    from ..config.grammar import import_spec

    obj = import_spec(spec, "train.callbacks")
    return obj() if isinstance(obj, type) else obj
