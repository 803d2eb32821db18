"""The README's test card table is the processor's: every number it lists declines as it says."""

from __future__ import annotations

import re
from pathlib import Path

from estore.services.payment.models import TEST_CARDS, luhn_valid

README = Path(__file__).resolve().parents[3] / "README.md"
ROW = re.compile(r"^\| `(\d+)` \| `(\w+)` \|$")


def documented_declines() -> dict[str, str]:
    section = README.read_text().split("## Test cards", 1)[1].split("\n## ", 1)[0]
    return dict(m.groups() for line in section.splitlines() if (m := ROW.match(line)))


def test_the_readme_lists_every_declining_card_with_its_code() -> None:
    assert documented_declines() == {number: code.value for number, code in TEST_CARDS.items()}


def test_the_approving_example_is_luhn_valid_and_no_test_card() -> None:
    section = README.read_text().split("## Test cards", 1)[1]
    example = re.search(r"for\s+example `(\d+)`", section)
    assert example is not None
    assert luhn_valid(example[1]) and example[1] not in TEST_CARDS
