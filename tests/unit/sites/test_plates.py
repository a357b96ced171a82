"""Sign plates' fonts and the settings they read: the embedded face where it has the
character, the CID fallback where not; the public address and the font checked at start."""

from __future__ import annotations

import pytest

from registry.core.settings import settings_from_env
from registry.sites.plates import PDF_FONT, find_font, font_runs, layout_plate, render_pdf

FACE = frozenset(ord(c) for c in "株洲㮾下便民服务代办点")


def test_runs_keep_the_face_and_fall_back_only_where_it_lacks_a_character():
    has = FACE - {ord("㮾")}
    assert font_runs("株洲㮾下便民服务代办点", "Face", has) == [
        ("Face", "株洲"),
        (PDF_FONT, "㮾"),
        ("Face", "下便民服务代办点"),
    ]


def test_without_a_face_everything_is_the_fallback():
    assert font_runs("仰溪铺村", None, frozenset()) == [(PDF_FONT, "仰溪铺村")]


def test_a_configured_font_wins_over_the_ones_found(tmp_path):
    face = tmp_path / "face.ttf"
    face.write_bytes(b"\0")
    assert find_font(str(face)) == str(face)


def test_the_pdf_embeds_the_face_found_and_names_the_rare_character_with_the_fallback():
    path = find_font()
    if path is None:
        pytest.skip("no TrueType CJK face on this machine (Debian: fonts-wqy-microhei)")
    plate = layout_plate("㮾下村便民服务代办点", "https://example.org/s/430000000000")
    pdf = render_pdf([plate], "t", path)
    assert b"FontFile2" in pdf  # a TrueType program embedded
    assert b"STSong-Light" in pdf  # 㮾 is outside WenQuanYi Micro Hei


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("https://bmfw.example.gov.cn/", "https://bmfw.example.gov.cn"),
        ("http://10.1.2.3:8080/registry", "http://10.1.2.3:8080/registry"),
    ],
)
def test_the_public_address_is_kept_without_a_trailing_slash(tmp_path, raw, expected):
    env = {"REGISTRY_VAR_DIR": str(tmp_path), "REGISTRY_SECRET_KEY": "k" * 40}
    settings = settings_from_env({**env, "REGISTRY_PUBLIC_BASE_URL": raw})
    assert settings.public_base_url == expected


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("REGISTRY_PUBLIC_BASE_URL", "bmfw.example.gov.cn"),
        ("REGISTRY_PUBLIC_BASE_URL", "ftp://example.org"),
        ("REGISTRY_PUBLIC_BASE_URL", "https://example.org/?a=1"),
        ("REGISTRY_SIGN_FONT", "/no/such/font.ttf"),
    ],
)
def test_a_wrong_public_address_or_font_stops_the_start(tmp_path, name, raw):
    env = {"REGISTRY_VAR_DIR": str(tmp_path), "REGISTRY_SECRET_KEY": "k" * 40, name: raw}
    with pytest.raises(SystemExit, match=name):
        settings_from_env(env)
