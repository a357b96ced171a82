"""Reading the statistical register's CSVs: levels from columns, row errors, file errors."""

from __future__ import annotations

import gzip

import pytest

from registry.divisions import nbs
from registry.formats.problems import FileProblem
from seed import DATA_DIR

HEADER = "code,name,streetCode,provinceCode,cityCode,areaCode\n"


def test_the_real_villages_of_huaihua_read_without_errors():
    listed = nbs.read((DATA_DIR / "huaihua/villages.nbs2023.csv").read_bytes())
    assert (listed.level, len(listed.rows), listed.errors) == ("village", 2777, [])
    first = listed.rows[0]
    assert (first.code, first.parent, first.county) == (
        "431202001001",
        "431202001000",
        "431202000000",
    )


def test_gzip_and_levels_are_recognised():
    data = gzip.compress(
        "code,name,areaCode,provinceCode,cityCode\n431202001,城中街道,431202,43,4312\n".encode()
    )
    listed = nbs.read(data)
    assert listed.level == "township" and listed.rows[0].code == "431202001000"


def test_row_errors_name_the_row_and_nothing_else_is_refused():
    text = HEADER + (
        "431202001001,新街社区,431202001,43,4312,431202\n"
        "431202001,短代码村,431202001,43,4312,431202\n"  # 9 digits for a village
        "431221001002,错位村,431202001,43,4312,431202\n"  # code of another township
        "431202001001,重复村,431202001,43,4312,431202\n"  # duplicate
        "431202001003,,431202001,43,4312,431202\n"  # no name
    )
    listed = nbs.read(text.encode())
    assert [(e.row, e.code) for e in listed.errors] == [
        (3, "nbs_bad_code"),
        (4, "nbs_code_parent_mismatch"),
        (5, "nbs_duplicate_code"),
        (6, "nbs_missing_name"),
    ]
    assert [r.code for r in listed.rows] == ["431202001001"]


def test_a_missing_column_refuses_the_file():
    with pytest.raises(FileProblem) as refused:
        nbs.read(b"code,name,streetCode,provinceCode,cityCode\n431202001001,a,431202001,43,4312\n")
    assert refused.value.code == "nbs_missing_column" and "areaCode" in refused.value.en
