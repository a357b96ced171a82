"""Text that went through a lossy decoder is refused, not stored or searched for."""

from __future__ import annotations

import pytest

from registry.core.errors import RuleViolation
from registry.core.text import clean_text


@pytest.mark.parametrize("value", ["\ufffd", "大坪村\ufffd代办点", "\ufffd\ufffd"])
def test_the_replacement_character_is_refused(value):
    with pytest.raises(RuleViolation) as refused:
        clean_text(value, "q")
    assert (refused.value.code, refused.value.field) == ("invalid_encoding", "q")


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [("\u200b大坪村\u200d", "大坪村"), ("ＡＢＣ１２３", "ABC123"), ("\ufeff迎丰路", "迎丰路")],
)
def test_zero_width_and_full_width_are_normalised(value, cleaned):
    assert clean_text(value, "address") == cleaned
