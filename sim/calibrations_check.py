"""What is wrong with a calibration document, if anything (a model built on it would lie)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def problems(calibration: Mapping[str, Any]) -> list[str]:
    found = []
    for name, measured in calibration.get("operations", {}).items():
        if not measured.get("shapes"):
            found.append(f"{name}: no shapes")
        for shape in measured.get("shapes", []):
            found += [f"{name}: {p}" for p in _node(shape["tree"], shape["samples"])]
    return found


def _node(node: Mapping[str, Any], samples: int) -> list[str]:
    found = []
    where = f"{node['service']} {node['route']}"
    for index, segment in enumerate(node["cpu_us"]):
        if len(segment) != samples:
            found.append(f"{where}: segment {index} has {len(segment)} of {samples} samples")
        if any(v < 0 for v in segment):
            found.append(f"{where}: segment {index} has a negative CPU time")
    if len(node["cpu_us"]) != len(node["groups"]) + 1:
        found.append(f"{where}: CPU segments do not surround its call groups")
    turns = node.get("turns")
    if turns is not None and (
        len(turns) != len(node["cpu_us"]) or any(len(t) != samples for t in turns)
    ):
        found.append(f"{where}: loop turns are not counted for every segment and sample")
    for group in node["groups"]:
        for child in group:
            found += _node(child, samples)
    return found
