"""The baselines by name: registered where they are defined, read by everything that names one.

``@register_baseline("name", ...)`` on a predictor class with a ``fit(context)`` classmethod makes it a
baseline: the CLI's choices and help, the defaults, the checks of ``--baselines``, evaluate's fitting,
the group comparison's permutation rule (from the class' :class:`~asdgaze.models.base.Traits`) and the
report's labels all come from here. Adding a baseline is one decorated class; nothing else names it.

Example (a baseline registered by a user, scored like any other)::

    @register_baseline("flat", label="flat (toy)")
    class Flat(PredictorBase):
        name = "flat"
        traits = Traits(shape_only=True)

        @classmethod
        def fit(cls, context):
            return cls()

        def log_density(self, stimulus, group=None, exclude_viewers=()):
            ...
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from asdgaze.data.types import Dataset
from asdgaze.errors import OptionsError
from asdgaze.models.base import Traits

__all__ = ["BaselineEntry", "FitContext", "register_baseline", "unregister_baseline", "baseline", "names",
           "default_baselines", "check_names", "fit", "traits_of", "label_of"]


@dataclass(frozen=True)
class BaselineEntry:
    """One registered baseline.

    cls: the predictor class (its ``traits`` and ``fit(context)``).
    label: how the report names it. help: one line for the command line's help.
    default: scored when ``--baselines default`` (or nothing) is given.
    groups: the exact number of groups it needs (other-group: 2), or None.
    aliases: other names accepted for it (``mit1003`` for ``centerbias-mit1003``).
    """

    name: str
    cls: type
    label: str
    help: str = ""
    default: bool = False
    groups: int | None = None
    aliases: tuple[str, ...] = ()
    reference: bool = False  # the 0 % of "where a model stands between it and the ceiling" (the centre bias)

    @property
    def traits(self) -> Traits:
        return getattr(self.cls, "traits", Traits())


_REGISTRY: dict[str, BaselineEntry] = {}
_ALIASES: dict[str, str] = {}


def register_baseline(name: str, *, label: str, help: str = "", default: bool = False, groups: int | None = None,
                      aliases: Sequence[str] = (), reference: bool = False) -> Callable[[type], type]:
    """Class decorator: register ``cls`` as the baseline ``name`` (see the module docstring)."""

    def deco(cls: type) -> type:
        if not callable(getattr(cls, "fit", None)):
            raise TypeError(f"baseline {name!r}: {cls.__name__} needs a fit(context) classmethod")
        taken = [n for n in (name, *aliases) if (n in _REGISTRY or n in _ALIASES) and _owner(n) is not cls]
        if taken:
            raise ValueError(f"baseline name(s) {', '.join(taken)} already registered")
        _REGISTRY[name] = BaselineEntry(name, cls, label, help, default, groups, tuple(aliases), reference)
        for a in aliases:
            _ALIASES[a] = name
        return cls

    return deco


def _owner(name: str) -> type | None:
    entry = _REGISTRY.get(_ALIASES.get(name, name))
    return entry.cls if entry else None


def unregister_baseline(name: str) -> None:
    """Remove a baseline registered at run time (tests; a plug-in that is unloaded)."""
    entry = _REGISTRY.pop(name, None)
    for a in entry.aliases if entry else ():
        _ALIASES.pop(a, None)


def names() -> tuple[str, ...]:
    """Every baseline's name, in registration order (built-ins first)."""
    return tuple(_REGISTRY)


def baseline(name: str) -> BaselineEntry:
    """The entry of ``name`` (or an alias); OptionsError naming the known ones."""
    key = _ALIASES.get(name, name)
    if key not in _REGISTRY:
        raise OptionsError(f"unknown baseline {name!r} (choose from {', '.join(_REGISTRY)})")
    return _REGISTRY[key]


def traits_of(name: str) -> Traits | None:
    """The traits of a registered baseline, or None for any other name (a model's own maps)."""
    key = _ALIASES.get(name, name)
    return _REGISTRY[key].traits if key in _REGISTRY else None


def is_reference(name: str) -> bool:
    """Whether ``name`` is the reference baseline (the centre bias: 0 % of the way to the ceiling)."""
    key = _ALIASES.get(name, name)
    return key in _REGISTRY and _REGISTRY[key].reference


def label_of(name: str) -> str:
    """The report's label of ``name`` (a model's name is its own label)."""
    key = _ALIASES.get(name, name)
    return _REGISTRY[key].label if key in _REGISTRY else name


def default_baselines(groups: Sequence[str]) -> tuple[str, ...]:
    """The default baselines for these groups (one that needs another number of groups is left out)."""
    return tuple(e.name for e in _REGISTRY.values() if e.default and (e.groups is None or e.groups == len(groups)))


def check_names(value: str | Sequence[str] | None, groups: Sequence[str]) -> tuple[str, ...]:
    """``--baselines``: None or "default" -> the defaults; "" or "none" -> none; else the names, aliases
    resolved, unknown names refused (OptionsError naming the known ones and the keywords)."""
    if value is None:
        return default_baselines(groups)
    items = [s.strip() for s in (value.split(",") if isinstance(value, str) else value)]
    items = [s for s in items if s]
    if [s.lower() for s in items] in ([], ["none"]):
        return ()
    if [s.lower() for s in items] == ["default"]:
        return default_baselines(groups)
    unknown = [s for s in items if _ALIASES.get(s, s) not in _REGISTRY]
    if unknown:
        raise OptionsError(f"--baselines: unknown baseline {', '.join(map(repr, unknown))} (choose from "
                           f"{', '.join(_REGISTRY)}, 'default' or 'none')")
    return tuple(dict.fromkeys(_ALIASES.get(s, s) for s in items))


@dataclass
class FitContext:
    """What fitting a baseline may use: the dataset, the groups scored, and the baselines fitted so far
    (:meth:`get` fits a baseline another one builds on, once)."""

    dataset: Dataset
    groups: tuple[str, ...]
    fitted: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        entry = baseline(name)
        if entry.name not in self.fitted:
            if entry.groups is not None and len(self.groups) != entry.groups:
                raise OptionsError(f"--baselines {entry.name} needs exactly {entry.groups} groups "
                                   f"(scored: {', '.join(self.groups) or 'none'})")
            self.fitted[entry.name] = entry.cls.fit(self)
        return self.fitted[entry.name]


def fit(dataset: Dataset, names_: Sequence[str], groups: Sequence[str]) -> dict[str, Any]:
    """The baselines ``names_`` fitted on ``groups`` (those with fixations), sharing what they share
    (one centre-bias fit for centerbias, gold-standard and other-group)."""
    ctx = FitContext(dataset, tuple(g for g in groups if g in dataset.fixations))
    return {baseline(n).name: ctx.get(n) for n in names_}
