"""docs/operations.md's environment table is the settings: every variable, who reads it, its
default; a variable added to a settings class and not documented fails here."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from estore.cluster import SERVICES
from estore.kit.settings import ServiceSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
ROW = re.compile(r"^\| `([A-Z0-9_]+)` \| ([a-z, ]+) \| (.+?) \| .+ \|$")
# Defaults the table words rather than quotes: the port differs per service.
WORDED = {"PORT": "the service's port"}


def documented() -> dict[str, tuple[set[str], str]]:
    rows = (ROW.match(line) for line in DOC.read_text(encoding="utf-8").splitlines())
    return {m[1]: (set(m[2].split(", ")), m[3]) for m in rows if m}


def shown(default: Any) -> str:
    if default is None or default == "":
        return "—"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def read_by() -> dict[str, set[str]]:
    readers: dict[str, set[str]] = {name.upper(): {"all"} for name in ServiceSettings.model_fields}
    for service, spec in SERVICES.items():
        for name in spec.settings.model_fields.keys() - ServiceSettings.model_fields.keys():
            readers.setdefault(name.upper(), set()).add(service)
    return readers


def defaults() -> dict[str, str]:
    found: dict[str, str] = {}
    for spec in (ServiceSettings, *(s.settings for s in SERVICES.values())):
        for name, field in spec.model_fields.items():
            found[name.upper()] = WORDED.get(name.upper(), shown(field.default))
    return found


def test_every_variable_is_documented_with_the_services_that_read_it() -> None:
    table = {name: readers for name, (readers, _) in documented().items()}
    assert table == read_by()


def test_every_documented_default_is_the_settings_default() -> None:
    table = {name: default for name, (_, default) in documented().items()}
    assert table == defaults()
