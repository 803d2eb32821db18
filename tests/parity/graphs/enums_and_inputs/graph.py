"""Enums and input types shared by two subgraphs with different values and fields.

Output enums merge (the union), input types and enums used as inputs intersect: a client may
only send what every subgraph accepts.
"""

from typing import Any

from tests.parity.graph_corpus import Ask

TASKS = [
    {"id": "t1", "title": "Write", "status": "OPEN", "owner": "ann"},
    {"id": "t2", "title": "Ship", "status": "DONE", "owner": "bob"},
    {"id": "t3", "title": "Old", "status": "ARCHIVED", "owner": None},
]


def _tasks(_: Any, filter: dict[str, Any] | None = None, order: str = "ASC") -> list[Any]:
    wanted = (filter or {}).get("status")
    found = [t for t in TASKS if wanted is None or t["status"] == wanted]
    return found[::-1] if order == "DESC" else found


DATA = {
    "tasks": {"Query": {"tasks": _tasks}, "entities": {"Task": TASKS}},
    "people": {
        "Query": {"assigned": lambda _, filter=None: [{"id": "t1", "owner": "ann"}]},
        "entities": {
            "Task": [{"id": t["id"], "owner": t["owner"], "review": "OPEN"} for t in TASKS]
        },
    },
}

ASKS = [
    Ask("an output enum value only one subgraph has", "{ tasks { id status owner review } }"),
    Ask("an input enum value both have", "{ tasks(filter: {status: DONE}) { title owner } }"),
    Ask(
        "an input enum value one lacks", "{ tasks(filter: {status: ARCHIVED}) { id } }", clean=False
    ),
    Ask("an input field one lacks", "{ tasks(filter: {limit: 1}) { id } }", clean=False),
    Ask(
        "an argument's default and a variable",
        "query($o: Order) { tasks(order: $o) { id } }",
        {"o": "DESC"},
    ),
    Ask(
        "an input object by variable",
        "query($f: TaskFilter) { assigned(filter: $f) { title status } }",
        {"f": {"status": "OPEN", "owner": "ann"}},
    ),
]
