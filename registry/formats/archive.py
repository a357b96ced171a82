"""The one zip-bomb guard for XLSX uploads (import files, plan workbooks).

An XLSX file is a zip archive. The guard reads only the central directory (what the archive
claims about its members) and refuses an archive that would inflate beyond the limits before
openpyxl inflates anything. Callers with other limits pass them as keyword arguments.

It also refuses what the zip module could open but not read: members compressed by another
method than stored or deflate (what Excel and every spreadsheet program write), encrypted or
"patched" members, and a central directory that the zip module cannot parse at all — whatever
exception it raises (a damaged entry raises ``NotImplementedError``, not ``BadZipFile``). A
member is never inflated beyond the size the directory claims (the zip module stops there), so
the claimed sizes bound the work.
"""

from __future__ import annotations

import io
import zipfile

from registry.formats.problems import FileProblem

MAX_XLSX_UNCOMPRESSED = 200 * 1024 * 1024
"""Largest total uncompressed size of an XLSX archive."""
MAX_XLSX_RATIO = 100
"""Largest compression ratio of one member bigger than :data:`RATIO_CHECKED_FROM`."""
RATIO_CHECKED_FROM = 1024 * 1024
"""Members this big or smaller are not ratio-checked (small XML parts compress very well)."""
MAX_XLSX_MEMBERS = 1000
READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
"""Compression methods of a workbook's members (what spreadsheet programs write)."""
# Flag bits of a member the guard refuses: encrypted (0), patched data (5), strong encryption (6).
_REFUSED_FLAGS = 0x1 | 0x20 | 0x40


def _malformed(en: str, zh: str) -> FileProblem:
    return FileProblem(
        "malformed_xlsx", f"不是有效的 XLSX 文件（{zh}）", f"not a valid XLSX file ({en})"
    )


def check_xlsx_archive(
    data: bytes,
    *,
    max_uncompressed: int = MAX_XLSX_UNCOMPRESSED,
    max_ratio: float | None = MAX_XLSX_RATIO,
    max_members: int = MAX_XLSX_MEMBERS,
) -> None:
    """Refuse a zip bomb or a non-workbook before openpyxl inflates anything.

    ``max_ratio=None`` checks no member's ratio (for a caller whose small size limit already
    bounds the inflation).

    Raises:
        FileProblem: ``malformed_xlsx`` (not a zip, a damaged directory, a member that cannot
            be read, or no ``xl/workbook.xml``) or ``xlsx_bomb`` (too many members, too large
            uncompressed, a member's ratio).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # BadZipFile, NotImplementedError, ValueError, OSError … of a damaged file
        raise _malformed("bad zip", "压缩包已损坏") from None
    with archive:
        infos = archive.infolist()

    def bomb(zh: str, en: str) -> FileProblem:
        return FileProblem(
            "xlsx_bomb",
            f"XLSX 文件解压后异常巨大（{zh}），拒绝处理",
            f"refused: the XLSX archive would inflate abnormally ({en}); limits "
            f"{max_uncompressed // 1024 // 1024} MB uncompressed"
            + (f", ratio {max_ratio:g}:1" if max_ratio is not None else ""),
        )

    if len(infos) > max_members:
        raise bomb(f"{len(infos)} 个成员", f"{len(infos)} members")
    total = 0
    for info in infos:
        if info.compress_type not in READABLE_METHODS or info.flag_bits & _REFUSED_FLAGS:
            raise _malformed(
                f"{info.filename[:100]!r} is encrypted or compressed by an unsupported method",
                "含有加密或不支持的压缩方式的成员",
            )
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if max_ratio is not None and info.file_size > RATIO_CHECKED_FROM and ratio > max_ratio:
            raise bomb(
                f"{info.filename} 压缩比 {ratio:.0f}:1", f"{info.filename} expands {ratio:.0f}:1"
            )
    if total > max_uncompressed:
        raise bomb(f"解压后 {total // 1024 // 1024} MB", f"{total // 1024 // 1024} MB uncompressed")
    if "xl/workbook.xml" not in {i.filename for i in infos}:
        raise _malformed("no xl/workbook.xml", "缺少 xl/workbook.xml")
