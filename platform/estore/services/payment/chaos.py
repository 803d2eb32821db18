"""The processor's chaos dials: seeded draws for random declines and post-charge hangs."""

from __future__ import annotations

import random
from dataclasses import dataclass

from estore.services.payment.models import Behaviour, BehaviourChange


@dataclass(frozen=True)
class Draw:
    """What chance decided for one new charge."""

    decline: bool
    hang: bool


class Chaos:
    """Holds the dials; every new charge draws twice, so a seed replays the same run."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self._behaviour = behaviour or Behaviour()
        self._random = random.Random(self._behaviour.seed)

    @property
    def behaviour(self) -> Behaviour:
        return self._behaviour

    @property
    def latency_seconds(self) -> float:
        return self._behaviour.latency_ms / 1000

    def change(self, change: BehaviourChange) -> Behaviour:
        updates = change.model_dump(exclude_none=True)
        self._behaviour = self._behaviour.model_copy(update=updates)
        if change.seed is not None:
            self._random = random.Random(change.seed)
        return self._behaviour

    def reset(self) -> None:
        self._behaviour = Behaviour()
        self._random = random.Random(self._behaviour.seed)

    def draw(self) -> Draw:
        decline = self._random.random() < self._behaviour.decline_rate
        hang = self._random.random() < self._behaviour.timeout_rate
        return Draw(decline=decline, hang=hang)
