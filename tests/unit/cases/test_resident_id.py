"""Resident identity numbers: format, province, birth date, ISO 7064 checksum; masks, hashes."""

from __future__ import annotations

import hmac
import sys
import threading
import time
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.cases.rules import resident, resident_id
from registry.cases.rules.resident_id import InvalidResidentId, with_check_character
from registry.core.errors import RuleViolation

TODAY = date(2026, 11, 26)
# 1980-born resident of 鹤城区 (431202, created 1997): must pass (python-stdnum refuses it).
HECHENG_1980 = "431202198001010018"
VALID = with_check_character("43122119650315123")
FEMALE = with_check_character("43122119650315124")


def test_hecheng_code_older_than_its_county_is_accepted():
    checked = resident_id.validate(HECHENG_1980, TODAY)
    assert checked.number == HECHENG_1980
    assert checked.birth_date == date(1980, 1, 1)
    assert checked.province_code == "43"
    assert checked.male is True


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        (VALID, VALID),
        (VALID.lower(), VALID),
        (" 4312 0219 8001 0100 18 ", HECHENG_1980),
        ("４３１２０２１９８００１０１００１８", HECHENG_1980),  # full-width digits
    ],
)
def test_number_is_normalised(raw, number):
    assert resident_id.validate(raw, TODAY).number == number


def test_lower_case_check_x_is_accepted():
    number = next(
        n
        for n in (with_check_character(f"43120219900101{i:03d}") for i in range(1000))
        if n.endswith("X")
    )
    assert resident_id.validate(number.lower(), TODAY).number == number


def test_sex_follows_the_seventeenth_digit():
    assert resident_id.validate(FEMALE, TODAY).male is False


def _codes(raw: str, today: date = TODAY) -> list[str]:
    return [p.code for p in resident_id.problems(raw, today)]


@pytest.mark.parametrize(
    ("raw", "codes"),
    [
        ("", ["id_format"]),
        ("43120219800101001", ["id_format"]),  # 17 characters
        ("4312021980010100188", ["id_format"]),  # 19
        ("43120219800101001A", ["id_format"]),
        ("4312021980010100X8", ["id_format"]),  # X not last
        ("431202198001010017", ["id_checksum"]),
        (with_check_character("99120219800101001"), ["id_province"]),
        (with_check_character("00120219800101001"), ["id_province"]),
        (with_check_character("43120219800230001"), ["id_birth_date"]),  # 30 February
        (with_check_character("43120219801301001"), ["id_birth_date"]),  # month 13
        (with_check_character("43120218800101001"), ["id_birth_date"]),  # before 1890
        (with_check_character("43120220300101001"), ["id_birth_date_future"]),
        # Several rules broken at once: each is named.
        ("991202198002300010", ["id_province", "id_birth_date", "id_checksum"]),
        ("431202203001010010", ["id_birth_date_future", "id_checksum"]),
    ],
)
def test_each_failing_rule_is_named(raw, codes):
    assert _codes(raw) == codes


def test_birth_date_today_is_not_in_the_future():
    number = with_check_character("431202" + TODAY.strftime("%Y%m%d") + "001")
    assert _codes(number) == []
    assert _codes(number, date(2026, 11, 25)) == ["id_birth_date_future"]


def test_validate_raises_with_every_rule_and_never_echoes_the_number():
    raw = "991202198002300010"
    with pytest.raises(InvalidResidentId) as info:
        resident_id.validate(raw, TODAY)
    assert info.value.code == "invalid_resident_id"
    assert info.value.extra["rules"] == ["id_province", "id_birth_date", "id_checksum"]
    assert raw not in str(info.value) and raw not in info.value.zh


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("张三", "张*"),
        ("欧阳小明", "欧**明"),
        ("李", "*"),
        ("阿依古丽·买买提", "阿******提"),
    ],
)
def test_name_mask(name, masked):
    assert resident.mask_name(name) == masked


@pytest.mark.parametrize(
    ("raw", "clean", "masked"),
    [
        ("13812345678", "13812345678", "138****5678"),
        ("138 1234 5678", "13812345678", "138****5678"),
        ("+86 138-1234-5678", "13812345678", "138****5678"),
        ("0745-2345678", "07452345678", "0745-****5678"),
        ("010-12345678", "01012345678", "010-****5678"),
    ],
)
def test_phone_is_cleaned_and_masked(raw, clean, masked):
    assert resident.clean_phone(raw) == clean
    assert resident.mask_phone(clean) == masked


@pytest.mark.parametrize(
    "raw", ["12345678901", "1381234567", "138123456789", "abcdefg", "23456789"]
)
def test_malformed_phone_is_refused_without_echo(raw):
    with pytest.raises(RuleViolation) as info:
        resident.clean_phone(raw)
    assert info.value.code == "invalid_phone"
    assert raw not in info.value.zh + info.value.en


def test_id_mask_keeps_four_and_four():
    assert resident.mask_id("43120219800101123X") == "4312**********123X"


@pytest.mark.parametrize("name", ["", "   ", "张3", "a" * 31, "张\u202e三"])
def test_bad_names_are_refused(name):
    with pytest.raises(RuleViolation) as info:
        resident.clean_name(name)
    assert info.value.code == "invalid_resident_name"


def test_protect_keeps_only_masks_and_keyed_hashes():
    kept = resident.protect("secret-a", "张三明", HECHENG_1980, "13812345678", TODAY)
    assert kept.name_masked == "张*明"
    assert kept.id_masked == "4312**********0018"
    assert kept.phone_masked == "138****5678"
    assert len(kept.id_hash) == 64 and HECHENG_1980 not in kept.id_hash
    # Keyed: another secret gives other hashes; the same resident the same hash (repeat visits).
    other = resident.protect("secret-b", "张三明", HECHENG_1980, "13812345678", TODAY)
    assert other.id_hash != kept.id_hash
    again = resident.protect("secret-a", "张三明", HECHENG_1980.lower(), None, TODAY)
    assert again.id_hash == kept.id_hash and again.data_hash != kept.data_hash
    text = repr(kept)
    for value in ("张三明", HECHENG_1980, "13812345678"):
        assert value not in text


@pytest.mark.parametrize("value", ["", "4312", "张三明\x1f" * 3, "长" * 1000])
@pytest.mark.parametrize("secret", ["k", "secret-a", "x" * 100])
def test_the_keyed_hash_is_hmac_sha256(secret, value):
    expected = hmac.new(secret.encode(), value.encode(), "sha256").hexdigest()
    assert resident.keyed_hash(secret, value) == expected


def test_the_keyed_hash_keeps_the_gil():
    """In the server, SQLite's statements run on threads: a hash that lets go of the GIL
    waits for it back behind them. With a busy thread and a long switch interval, each such
    wait takes the interval (20 hashes: about a second); kept, the 20 take microseconds."""
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            pass

    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.05)
    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        time.sleep(0.01)
        started = time.perf_counter()
        for n in range(20):
            resident.keyed_hash("secret-a", f"resident {n}")
        took = time.perf_counter() - started
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        thread.join()
    assert took < 0.5


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_the_check_character_is_the_weighted_sum_of_the_standard(first17):
    """GB 11643's definition, Σ digit × weight mod 11, against the base-13 reading."""
    weighted = sum(int(d) * w for d, w in zip(first17, resident_id.WEIGHTS, strict=True))
    assert resident_id.check_character(first17) == "10X98765432"[weighted % 11]


@pytest.mark.parametrize("bad", ["1234567890123456", "123456789012345678", "1234567890123456a"])
def test_the_check_character_needs_17_digits(bad):
    with pytest.raises(ValueError):
        resident_id.check_character(bad)
