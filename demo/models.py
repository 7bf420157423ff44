"""Which models a student can pick: the shipped checkpoints (loaded once, read-only, shared by
everyone) plus the models this student trained in this session (kept in their gr.State)."""

from __future__ import annotations

import math
from functools import lru_cache

import gradio as gr
from torch import nn

from fmnist.checkpoint import SHIPPED, CheckpointError, load_checkpoint
from fmnist.models import describe_options
from fmnist.sketches import BALANCED


@lru_cache(maxsize=None)
def shipped_model(name: str) -> tuple[nn.Module, dict]:
    """A shipped checkpoint by name, loaded on first use and then reused (never trained further)."""
    return load_checkpoint(name)


def shipped_names() -> list[str]:
    """Names of the shipped checkpoints that load, `default` first."""
    names = []
    for name in ["default", *sorted(n for n in SHIPPED if n != "default")]:
        try:
            shipped_model(name)
        except CheckpointError:
            continue
        names.append(name)
    return names


def model_key(name: str, session_models: dict) -> tuple[str, str]:
    """What makes two picker names one model: a session's model is itself, a shipped name is its file
    (`default` and `cnn` are one model; an unknown name is itself, and get_model refuses it)."""
    if name in session_models:
        return ("session", name)
    return ("file", SHIPPED[name]) if name in SHIPPED else ("unknown", name)


def all_models(session_models: dict) -> list[str]:
    """Every distinct model a student can pick, once each: the shipped ones (an alias such as `default`
    named once, by its first name), then this session's."""
    seen, names = set(), []
    for name in [*shipped_names(), *session_models]:
        key = model_key(name, session_models)
        if key not in seen:
            seen.add(key)
            names.append(name)
    return names


def shown_name(name: str) -> str:
    """How a picker name is shown: `default` as the shipped model it is ("cnn (default)")."""
    if name != "default":
        return name
    alias = next((n for n, f in SHIPPED.items() if n != "default" and f == SHIPPED["default"]), None)
    return f"{alias} (default)" if alias else name


def picker_entries(session_models: dict) -> list[tuple[str, str]]:
    """The model picker's (shown name, value) entries: every distinct model once (all_models)."""
    return [(shown_name(name), name) for name in all_models(session_models)]


def get_model(name: str, session_models: dict) -> tuple[nn.Module, dict]:
    """A model by picker name: this session's trained ones first, then the shipped ones. Any other name
    (an API call with a stale or mistyped name, a shipped file that does not load) is refused with a
    gr.Error naming the models there are, instead of answering with another model."""
    if name in session_models:
        return session_models[name]
    if name in SHIPPED:
        try:
            return shipped_model(name)
        except CheckpointError as err:
            raise gr.Error(f"Model {name!r} cannot be loaded ({err}); pick one of: "
                           f"{', '.join(all_models(session_models))}.") from None
    raise gr.Error(f"There is no model called {name!r}; pick one of: {', '.join(all_models(session_models))}.")


def is_number(x: object) -> bool:
    """A finite int or float (not a bool): what metadata read from a file must be before it is shown."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def epochs_text(done, planned) -> str:
    """How long a model trained, in words: "1 epoch", "25 epochs", or "1 of 5 epochs" for a run stopped early."""
    if is_number(done) and is_number(planned) and done != planned:
        return f"{done:g} of {planned:g} epochs"
    n = done if is_number(done) else planned
    return f"{n:g} epoch" + ("" if n == 1 else "s") if is_number(n) else "? epochs"


def epochs_before(start: object, depth: int = 20) -> float | None:
    """The epochs a model's starting point was trained for, down its chain of `started_from` records (a run that went
    on from a run that went on from another), or None where a record lacks the figure (metadata is not trusted)."""
    total = 0.0
    for _ in range(depth):
        if not isinstance(start, dict) or not is_number(start.get("epochs_completed")):
            return None
        total += start["epochs_completed"]
        start = start.get("started_from")
        if start is None:
            return total
    return None


def model_card(meta: dict) -> str:
    """A short Markdown description of a model: architecture, how it was trained, test accuracy.
    Metadata of a loaded file is not trusted: fields of the wrong type are left out."""
    cfg, metrics = meta.get("train_config"), meta.get("metrics")
    cfg, metrics = (cfg if isinstance(cfg, dict) else {}), (metrics if isinstance(metrics, dict) else {})
    options = meta.get("arch_options")
    shape = describe_options({k: v for k, v in options.items() if is_number(v)} if isinstance(options, dict) else {})
    parts = [f"**{meta.get('arch', '?')}**" + (f" ({shape})" if shape else "")]
    if meta.get("loaded_from"):
        parts.append(f"loaded from {meta['loaded_from']}")
    if cfg:
        before = epochs_before(meta.get("started_from"))
        after = f" more after the {before:g} of the model it started from" if before is not None else ""
        parts.append(f"batch {cfg.get('batch_size')}, {epochs_text(metrics.get('epochs_completed'), cfg.get('epochs'))}"
                     f"{after}, lr {cfg.get('lr')}")
    if is_number(metrics.get("accuracy")):
        parts.append(f"test accuracy **{metrics['accuracy'] * 100:.2f} %**")
    sketch = metrics.get("sketch_accuracy")
    sketch = dict(sketch) if isinstance(sketch, dict) else {}
    balanced = metrics.get("sketch_balanced_accuracy")
    for column in BALANCED:  # the design columns' headline is the mean over classes
        if isinstance(balanced, dict) and column in sketch and is_number(balanced.get(column)):
            sketch[column] = balanced[column]
    # one decimal, as the README and `evaluate` print them: a whole percent would show 87.5 % as "88 %"
    sketch = [f"{k} {v * 100:.1f} %" for k, v in sketch.items() if is_number(v)]
    if sketch:
        parts.append("drawings: " + ", ".join(sketch))
    return " · ".join(parts)
