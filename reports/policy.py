"""The release policy (reports/policy.toml): which rules hold, with which thresholds.

Validated with pydantic: an unknown rule, an unknown setting or a threshold of the wrong kind
is a `PolicyError` with one readable line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_POLICY = Path(__file__).with_name("policy.toml")
PARTS = ("contracts", "schema", "chaos", "load", "sim", "benchmarks")


class PolicyError(ValueError):
    """The policy file cannot be used."""


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: str = ""


class NoBreakingSchemaChange(Rule):
    allowed: list[str] = []


class ChaosInvariantsHold(Rule):
    max_violations: int = Field(default=0, ge=0)


class CapacityHeadroom(Rule):
    min_headroom: float = Field(default=0.2, ge=0.0, le=10.0)


class NoLatencyRegression(Rule):
    alpha: float = Field(default=0.01, gt=0.0, lt=1.0)
    min_slowdown: float = Field(default=0.10, ge=0.0)
    min_samples: int = Field(default=20, ge=1)


class NoThroughputRegression(Rule):
    max_throughput_drop: float = Field(default=0.15, ge=0.0, le=1.0)
    max_failure_ratio_rise: float = Field(default=0.01, ge=0.0, le=1.0)


class NoBenchmarkRegression(Rule):
    max_change: float = Field(default=0.25, ge=0.0)


class Rules(BaseModel):
    """Every rule the report knows; a rule missing from the file is not applied."""

    model_config = ConfigDict(extra="forbid")
    pacts_verified: Rule | None = None
    deploy_matrix_safe: Rule | None = None
    fuzzing_clean: Rule | None = None
    no_breaking_schema_change: NoBreakingSchemaChange | None = None
    chaos_invariants_hold: ChaosInvariantsHold | None = None
    mutants_caught: Rule | None = None
    experiments_met_hypothesis: Rule | None = None
    load_gates_met: Rule | None = None
    load_invariants_hold: Rule | None = None
    forecast_validated: Rule | None = None
    capacity_headroom: CapacityHeadroom | None = None
    no_latency_regression: NoLatencyRegression | None = None
    no_throughput_regression: NoThroughputRegression | None = None
    no_benchmark_regression: NoBenchmarkRegression | None = None


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    optional: list[str] = []
    rules: Rules

    def enabled(self) -> dict[str, Rule]:
        return {name: rule for name, rule in self.rules if rule is not None}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown setting or rule '{where}'"
    return f"{where}: {error['msg']} (got {error.get('input')!r})"


def load_policy(path: Path = DEFAULT_POLICY) -> Policy:
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {path} is not TOML: {exc}") from exc
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"policy {path}: {_first_error(exc)}") from exc
    unknown = sorted(set(policy.optional) - set(PARTS))
    if unknown:
        raise PolicyError(f"policy {path}: unknown optional part(s) {', '.join(unknown)}")
    return policy
