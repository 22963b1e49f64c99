"""A small msgfmt: compile the Chinese catalogue of click's messages (``.po`` -> ``.mo``).

``python tests/msgfmt.py`` rewrites ``qc_batch/data/locale/zh_CN/LC_MESSAGES/messages.mo``;
``tests/test_cli_text.py`` checks that the committed ``.mo`` is the compiled ``.po``.
"""

from __future__ import annotations

import ast
import struct
import sys
from pathlib import Path

CATALOGUE = Path(__file__).resolve().parents[1] / "qc_batch" / "data" / "locale" / "zh_CN" / "LC_MESSAGES"


def parse_po(text: str) -> dict[str, str]:
    """msgid (``singular\\0plural`` for plural entries) -> msgstr (forms joined by ``\\0``)."""
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    key = ""

    def flush() -> None:
        if "msgid" in current:
            msgid = "".join(current["msgid"])
            if "msgid_plural" in current:
                msgid += "\0" + "".join(current["msgid_plural"])
                forms = sorted(k for k in current if k.startswith("msgstr["))
                entries[msgid] = "\0".join("".join(current[k]) for k in forms)
            else:
                entries[msgid] = "".join(current.get("msgstr", []))
        current.clear()

    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            current[key].append(ast.literal_eval(line))
            continue
        key, _, value = line.partition(" ")
        if key == "msgid" and "msgid" in current:
            flush()
        current[key] = [ast.literal_eval(value)]
    return entries


def compile_mo(entries: dict[str, str]) -> bytes:
    """The GNU ``.mo`` format, without a hash table (Python's gettext does not need one)."""
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n
    table_ids, table_strs, blob = [], [], b""
    for data, table in ((ids, table_ids), (strs, table_strs)):
        for s in data:
            table.append((len(s), start + len(blob)))
            blob += s + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    return head + b"".join(struct.pack("<2I", *t) for t in table_ids + table_strs) + blob


def compiled() -> bytes:
    return compile_mo(parse_po((CATALOGUE / "messages.po").read_text(encoding="utf-8")))


if __name__ == "__main__":
    (CATALOGUE / "messages.mo").write_bytes(compiled())
    sys.stdout.write(f"{CATALOGUE / 'messages.mo'}\n")
