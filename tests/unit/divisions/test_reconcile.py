"""The two code systems reconciled on the real files: 怀化's 207 statistical townships against
the register's 210 civil-affairs townships, then all of 湖南."""

from __future__ import annotations

import json

import pytest

from registry.divisions import nbs
from registry.divisions.rules import ABOLISHED_MARK
from registry.divisions.rules.reconcile import Township, reconcile, stem
from seed import DATA_DIR


def _register(prefix: str) -> list[Township]:
    rows = json.loads((DATA_DIR / "china/townships.json").read_text(encoding="utf-8"))
    return [
        Township(
            r["code"],
            r["name"].replace(ABOLISHED_MARK, ""),
            r["county_code"] + "000000",
            ABOLISHED_MARK in r["name"],
        )
        for r in rows
        if r["code"].startswith(prefix)
    ]


def _statistical(path: str) -> list[Township]:
    listed = nbs.read((DATA_DIR / path).read_bytes())
    assert listed.level == "township" and not listed.errors
    return [Township(r.code, r.name, r.county) for r in listed.rows]


@pytest.fixture(scope="module")
def huaihua():
    return reconcile(_register("4312"), _statistical("huaihua/streets.nbs2023.csv"))


def test_every_huaihua_township_is_accounted_for(huaihua):
    assert huaihua.by_rule() == {
        "matched": 139,
        "aliased": 56,
        "renamed": 3,
        "moved": 6,
        "statistical": 3,
        "unmatched": 0,
        "register_only": 6,
    }
    # Left over in the register: only the six abolished townships (（撤销）).
    assert all(t.abolished for t in huaihua.register_only)


def test_the_awkward_cases_follow_their_rule(huaihua):
    by_nbs = {m.nbs.code: m for m in huaihua.matches}
    # 黄金坳镇: another code, the same name → the statistical code is an alias.
    assert (by_nbs["431202101000"].rule, by_nbs["431202101000"].division) == (
        "aliased",
        "431202102000",
    )
    # The same place under another name.
    assert by_nbs["431202201000"].division == "431202010000"  # 盈口乡 / 盈口街道
    assert by_nbs["431222252000"].division == "431222207000"  # 二酉乡 / 二酉苗族乡
    assert by_nbs["431227107000"].rule == "renamed"  # 晃洲镇 / 晃州镇
    # 洪江管理区's six units: filed by civil affairs under 洪江市, by the statistics under 431271.
    moved = [m for m in huaihua.matches if m.rule == "moved"]
    assert {m.nbs.county for m in moved} == {"431271000000"}
    assert {m.register.county for m in moved} == {"431281000000"}
    assert all(m.division == m.nbs.code for m in moved)
    # Statistical-only units: a scenic area, a forestry farm, a farm.
    assert {m.nbs.name for m in huaihua.matches if m.rule == "statistical"} == {
        "黄岩旅游度假区",
        "通道县地连林场",
        "通道县播阳农场",
    }


def test_aliases_resolve_every_official_code_to_one_division(huaihua):
    aliases = huaihua.aliases()
    assert aliases[("nbs", "431202101000")] == "431202102000"
    assert aliases[("mca", "431281001000")] == "431271001000"  # civil affairs' 河滨路街道
    # A statistical code can be another township's civil-affairs code: the system tells them
    # apart (统计 431221111 is 袁家镇; 民政 431221111000 is 中方镇).
    assert aliases[("nbs", "431221111000")] == "431221117000"
    assert huaihua.matches and all(
        aliases.get(("nbs", m.nbs.code), m.nbs.code) == m.division for m in huaihua.matches
    )


def test_hunan_is_reconciled_with_few_left_for_a_person():
    result = reconcile(_register("43"), _statistical("hunan/streets.nbs2023.csv.gz"))
    counts = result.by_rule()
    assert (
        sum(
            counts[r]
            for r in ("matched", "aliased", "renamed", "moved", "statistical", "unmatched")
        )
        == 2008
    )
    assert counts["unmatched"] <= 10


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("二酉苗族乡", "二酉"),
        ("盈口街道", "盈口"),
        ("金子岩侗族苗族乡", "金子岩"),
        ("黄金坳镇", "黄金坳"),
    ],
)
def test_stem_drops_ethnic_designation_and_kind(name, expected):
    assert stem(name) == expected
