"""Names as people write them, on the real 怀化 register (NBS 2023) and on hand-picked cases."""

from __future__ import annotations

import csv
import gzip
import io

import pytest

from registry.divisions.rules.names import township_place, village_place
from seed import DATA_DIR

# The documented exceptions of 怀化: statistical living quarters of farms (生活区), kept as they
# are, kind 社区 (docs/reference/divisions.md).
HUAIHUA_EXCEPTIONS = {"泸阳林场生活区", "地连林场虚拟生活区", "播阳农场虚拟生活区"}


def _villages(path: str) -> list[dict[str, str]]:
    raw = (DATA_DIR / path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def test_every_huaihua_village_gets_a_place_name_ending_in_cun_or_shequ():
    rows = _villages("huaihua/villages.nbs2023.csv")
    assert len(rows) == 2777
    names = [village_place(r["name"]) for r in rows]
    odd = {p.name for p in names if not p.name.endswith(("村", "社区"))}
    assert odd == HUAIHUA_EXCEPTIONS
    assert all(p.rule == "exception" and p.kind == "社区" for p in names if p.name in odd)
    assert all(
        p.kind == ("社区" if p.name.endswith("社区") else "村") for p in names if p.name not in odd
    )
    # No committee title survives.
    assert not [p.name for p in names if "委" in p.name or p.name.endswith("会")]


def test_hunan_keeps_its_exceptions_few():
    rows = _villages("hunan/villages.nbs2023.csv.gz")
    exceptions = [r["name"] for r in rows if village_place(r["name"]).rule == "exception"]
    assert len(rows) == 29534
    assert len(exceptions) < 100  # 生活区 of farms, 管理区 …: 84 in the 2023 list
    assert all(not n.endswith(("村委会", "居委会", "村民委员会")) for n in exceptions)


@pytest.mark.parametrize(
    ("official", "name", "kind", "rule"),
    [
        ("仰溪铺村村委会", "仰溪铺村", "村", "villagers_committee"),
        ("石头村民委员会", "石头村", "村", "villagers_committee"),
        ("东村村民委员会", "东村", "村", "villagers_committee"),
        ("麻溪铺社区居委会", "麻溪铺社区", "社区", "residents_committee"),
        ("城关居委会", "城关社区", "社区", "residents_committee"),
        ("韶山冲社区居民委员会会", "韶山冲社区", "社区", "residents_committee"),
        ("吉家冲村村委会会", "吉家冲村", "村", "villagers_committee"),
        ("龙门街居委会（社区）", "龙门街社区", "社区", "residents_committee"),
        ("巴彦芒哈嘎查委员会", "巴彦芒哈嘎查", "村", "gacha"),
        ("新街社区", "新街社区", "社区", "place"),
        ("大坪村", "大坪村", "村", "place"),
        ("泸阳林场生活区", "泸阳林场生活区", "社区", "exception"),
    ],
)
def test_place_names_from_official_titles(official, name, kind, rule):
    assert tuple(village_place(official)) == (name, kind, rule)


@pytest.mark.parametrize(
    ("official", "name"),
    [
        ("城中街道办事处", "城中街道"),
        ("黄金坳镇人民政府", "黄金坳镇"),
        ("二酉苗族乡", "二酉苗族乡"),
    ],
)
def test_township_offices_are_dropped(official, name):
    assert township_place(official) == name
