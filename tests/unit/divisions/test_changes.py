"""A newer official list as a diff: new, renamed, moved, merged (合村并组), abolished."""

from __future__ import annotations

from registry.divisions.rules.changes import Unit, diff, summary

T1, T2, C = "431202101000", "431202206000", "431202000000"
REGISTER = [
    Unit("431202101001", "李家村", T1, C),
    Unit("431202101002", "王桥村", T1, C),
    Unit("431202101003", "石门村", T1, C),
    Unit("431202101004", "大坪村", T1, C),
    Unit("431202101005", "枫木村", T1, C),
    Unit("431202206001", "凉亭村", T2, C),
]


def _changes(incoming):
    return {(c.change, c.code): c for c in diff(REGISTER, incoming)}


def test_the_same_list_changes_nothing():
    assert diff(REGISTER, REGISTER) == []


def test_rename_move_merge_and_abolition_are_told_apart():
    incoming = [
        Unit("431202101004", "大坪新村", T1, C),  # renamed
        Unit("431202206002", "枫木村", T2, C),  # moved: same name, new code, other township
        Unit("431202101006", "李桥村", T1, C),  # merged: 李家村 + 王桥村
        Unit("431202206001", "凉亭村", T2, C),  # unchanged
        Unit("431202206003", "新建村", T2, C),  # new
        # 石门村 (431202101003) is gone without a successor: abolished
    ]
    changes = _changes(incoming)
    assert summary(changes.values()) == {
        "new": 1,
        "renamed": 1,
        "moved": 1,
        "merged": 1,
        "abolished": 1,
    }
    assert changes[("renamed", "431202101004")].before.name == "大坪村"
    assert changes[("moved", "431202206002")].predecessors == ["431202101005"]
    assert changes[("merged", "431202101006")].predecessors == ["431202101001", "431202101002"]
    assert ("abolished", "431202101003") in changes
    assert ("new", "431202206003") in changes


def test_common_place_words_do_not_make_a_merge():
    incoming = [u for u in REGISTER if u.code not in ("431202101001", "431202101005")]
    incoming.append(Unit("431202101009", "新家村", T1, C))  # shares only 新, 家 and 村
    incoming.append(Unit("431202101010", "新建村", T1, C))
    changes = _changes(incoming)
    assert set(changes) == {
        ("new", "431202101009"),
        ("new", "431202101010"),
        ("abolished", "431202101001"),
        ("abolished", "431202101005"),
    }


def test_two_villages_of_a_township_gaining_one_are_a_merge():
    incoming = [u for u in REGISTER if u.code not in ("431202101003", "431202101004")]
    incoming.append(Unit("431202101009", "新合村", T1, C))
    changes = _changes(incoming)
    assert changes[("merged", "431202101009")].predecessors == ["431202101003", "431202101004"]
