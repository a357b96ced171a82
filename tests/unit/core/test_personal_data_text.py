"""Personal data in free text, however it is separated or written (pure)."""

from __future__ import annotations

import pytest

from registry.cases.rules import timeline as rules
from registry.cases.rules.resident import mask_name, masked_name_in
from registry.core.errors import RuleViolation
from registry.core.text import check_no_personal_data, number_runs, personal_data_in, word_view

HIDDEN = [
    "431202-19850612-3472",
    "4312.0219.8506.1234.72",
    "身份证4/3/1/2/0/2/1/9/8/5/0/6/1/2/3/4/7/2",
    "tel 138-7451-2345",
    "４３１２０２１９８５０６１２３４７２",
    "手机：１３８　７４５１　２３４５",
    "电话 138·7451·2345",
    "电话 138・7451・2345",
    "电话 138‧7451‧2345 / 138•7451•2345",
    "电话 (138) 7451_2345",
    "电话一三八七四五一二三四五",
    "+86 138 7451 2345",
    "0086-138-7451-2345",
    "4312 0219 8506 1234 7X",
    "43120219850612347 x",
    "1\u200b3\u200b8\u200b7\u200b4\u200b5\u200b1\u200b2\u200b3\u200b4\u200b5",
    "电话：138，7451，2345",
    "电话 13874512345 / 13912345678",  # two numbers one after the other
    "电话138ー7451ー2345",
]
HARMLESS = [
    "材料已齐全，转乡镇民政办",
    "编号 2014100800001",  # 13 digits: neither an ID nor a mobile
    "2014-10-08 09:30 受理，2014-10-09 转办",
    "民政办电话 0745-2712345",  # an office landline
    "第一二三组，共 12 户 36 人",
    "案卷 431202001001-20141008-0001",  # a case number
    "预算 1,300,000 元",
    "4312**********123X",  # a masked ID
]


@pytest.mark.parametrize("text", HIDDEN)
def test_separated_identity_and_mobile_numbers_are_found(text):
    assert personal_data_in(text)
    with pytest.raises(RuleViolation) as refused:
        check_no_personal_data(text, "note")
    assert refused.value.code == "personal_data_in_text"
    assert text not in refused.value.message


@pytest.mark.parametrize("text", HARMLESS)
def test_ordinary_notes_pass(text):
    assert not personal_data_in(text)
    assert check_no_personal_data(text, "note") == text


NAMED = ["联系欧阳·秀英本人", "欧阳・秀英", "欧 阳 秀 英", "欧阳-秀英", "欧阳．秀英", "欧阳ㆍ秀英"]


@pytest.mark.parametrize("text", NAMED)
def test_the_residents_name_is_found_across_separators(text):
    assert personal_data_in(text, ("欧阳秀英",))
    assert rules.free_text_problems("note", text, ("欧阳秀英",))[0].code == "personal_data_in_text"
    # ... and so is a name registered with its dot, written without it.
    assert personal_data_in("联系欧阳秀英", ("欧阳·秀英",))


def test_the_masked_name_finds_the_resident_when_the_clear_name_is_not_at_hand():
    masked = mask_name("欧阳秀英")
    assert masked == "欧**英"
    assert masked_name_in("欧阳·秀英来电催办", masked)
    assert not masked_name_in("材料齐全", masked)
    assert not masked_name_in("张家界", "张*")  # two-character masks are not looked for
    assert masked_name_in("阿依古丽买买提来过", mask_name("阿依古丽·买买提"))
    found = rules.free_text_problems("note", "欧阳 秀英 本人", (), (masked,))
    assert [p.code for p in found] == ["personal_data_in_text"]


def test_numbers_are_read_in_runs_of_separated_groups():
    assert number_runs("证 431202-19850612-3472 号") == [["431202", "19850612", "3472"]]
    assert number_runs("电话13874512345，13912345678") == [["13874512345", "13912345678"]]
    assert number_runs("4312 0219 8506 1234 7X 另") == [["4312", "0219", "8506", "1234", "7X"]]
    assert number_runs("第3组2户") == [["3"], ["2"]]


def test_word_view_drops_every_separator():
    forms = ["欧阳·秀英", "欧阳・秀英", "欧 阳-秀/英", "欧阳ㆍ秀英"]
    assert {word_view(f) for f in forms} == {"欧阳秀英"}
