"""Training options beyond algorithm, backbone and seed (``TrainConfig.extra``), checked before any work.

The defaults are the one configuration the README benchmarks. The other values exist for users
whose parts need them — mostly ``long_side``: a larger input keeps small defects on high-resolution
parts visible to the model, at a cost in training and inference time that grows with the pixel
count (README of the vision engine). A typo or a value out of range is an :class:`EngineError`
naming the option and its rule before any image is touched, never a silent default or a crash
minutes into training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from anomalens.vision.backbone_registry import lookup
from anomalens.vision.types import ConfigError, TrainConfig

ALGORITHMS = ("auto", "ensemble", "patchcore", "padim")


@dataclass(frozen=True)
class Rule:
    """What one option accepts: a number of the given kind in [low, high], optionally a multiple of ``step``."""

    kind: type[int] | type[float]
    default: int | float
    low: float
    high: float
    step: int | None = None
    meaning: str = ""

    def describe(self) -> str:
        kind = "an integer" if self.kind is int else "a number"
        step = f", a multiple of {self.step}" if self.step else ""
        return f"{kind} from {self.low:g} to {self.high:g}{step}"


RULES: dict[str, Rule] = {
    "long_side": Rule(int, 256, 128, 1024, 32, "model input's long side in pixels; the short side follows the aspect"),
    "coreset_ratio": Rule(float, 0.02, 0.001, 1.0, None, "share of training patches kept in PatchCore's memory"),
    "memory_min": Rule(int, 1000, 1, 20000, None, "fewest memory bank entries (at most the patches there are)"),
    "memory_max": Rule(int, 2000, 1, 20000, None, "most memory bank entries"),
    "sigma": Rule(float, 4.0, 0.5, 32.0, None, "Gaussian blur of the anomaly map, in input pixels"),
    "holdout": Rule(
        float, 0.15, 0.05, 0.5, None, "share of training normals held out to calibrate the threshold (single split)"
    ),
    "folds": Rule(
        int,
        0,
        0,
        10,
        None,
        "how training normals calibrate the threshold: 0 automatic (none with 20 or more validation "
        "normals; else 5-fold cross-fitting below 130 training images, a held-out split from 130), "
        "1 a held-out split (only without validation normals), 2-10 cross-fitting with that many folds "
        "(the folds choose the blend; the thresholds come from each image scored without itself)",
    ),
}

#: The one default configuration, as plain values.
DEFAULTS: dict[str, Any] = {name: rule.default for name, rule in RULES.items()}


def _checked(name: str, value: Any) -> int | float:
    """The value as the rule's kind; an integer-valued float is accepted for an integer option."""
    rule = RULES[name]
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    whole = isinstance(value, int) or (isinstance(value, float) and value.is_integer())  # no float(huge int)
    in_range = is_number and rule.low <= value <= rule.high  # NaN compares False: refused here
    if not in_range or (rule.kind is int and not whole) or (rule.step and int(value) % rule.step):
        got = repr(value) if len(repr(value)) <= 40 else f"{repr(value)[:37]}..."
        raise ConfigError(f"training option {name!r} must be {rule.describe()} (got {got})", "option")
    return rule.kind(value)


def check_config(config: TrainConfig) -> dict[str, Any]:
    """The options ``fit`` will use: the defaults overlaid with ``config.extra``, every part checked.

    Cheap (no torch, no images). Raises :class:`ConfigError` on the first bad part, in the order
    algorithm, seed, backbone, options; its ``part`` lets callers name their own field. Callers
    that store the options can keep ``{k: result[k] for k in config.extra}``: the values in
    their checked kind (``512.0`` for ``long_side`` becomes ``512``).
    """
    if config.algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm must be one of {', '.join(ALGORITHMS)} (got {config.algorithm!r})", "algorithm")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or not 0 <= config.seed < 2**32:
        raise ConfigError(f"seed must be an integer from 0 to {2**32 - 1} (got {config.seed!r})", "seed")
    lookup(config.backbone)
    extra: Mapping[str, Any] = config.extra
    unknown = sorted(set(extra) - set(RULES))
    if unknown:
        raise ConfigError(f"unknown training option {unknown[0]!r}; known options: {', '.join(RULES)}", "option")
    opts = DEFAULTS | {name: _checked(name, value) for name, value in extra.items()}
    if opts["memory_min"] > opts["memory_max"]:

        def shown(name: str) -> str:
            return f"{opts[name]}" if name in extra else f"{opts[name]}, the default"

        raise ConfigError(
            f"training option 'memory_min' ({shown('memory_min')}) "
            f"must not exceed 'memory_max' ({shown('memory_max')})",
            "option",
        )
    return opts
