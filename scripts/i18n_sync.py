"""Keep the Traditional Chinese catalogue in step with the Simplified one, then compile both.

Translators work in locale/zh_Hans/LC_MESSAGES/django.po; translations handed in as JSON objects
(msgid → Simplified Chinese) in locale/pending/*.json fill the zh_Hans entries that are still empty, and
the files are removed once every string in them has found its entry. Every zh_Hant entry that is still empty (or
fuzzy) is filled from the zh_Hans text converted character by character with OpenCC (s2tw: the characters of
Taiwan's standard, 為 群 裡 核銷, not the old forms 爲 羣 裏 覈銷 of plain s2t; 臺 written 台 as readers write it, like
the hand-written 運營平台; no phrase conversion, so the vocabulary stays that of the source article: 用戶, 數據, 優化);
entries a
translator has already written in zh_Hant are left alone. Then both catalogues are compiled to .mo, so a
fresh clone needs no gettext tools. Run through `make messages`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import opencc
import polib

ROOT = Path(__file__).resolve().parent.parent
HANS = ROOT / "locale/zh_Hans/LC_MESSAGES/django.po"
HANT = ROOT / "locale/zh_Hant/LC_MESSAGES/django.po"
PENDING = ROOT / "locale/pending"


def _needs_fill(entry: polib.POEntry) -> bool:
    """Empty or fuzzy: a translator has not written this zh_Hant entry yet."""
    if entry.obsolete:
        return False
    if "fuzzy" in entry.flags:
        return True
    if entry.msgid_plural:
        return not all(entry.msgstr_plural.values())
    return not entry.msgstr


def _apply_pending(hans: polib.POFile, *, keep: bool = False) -> int:
    applied = 0
    entries = {entry.msgid: entry for entry in hans if not entry.obsolete}
    for path in sorted(PENDING.glob("*.json")):
        pending = json.loads(path.read_text(encoding="utf-8"))
        for msgid, msgstr in pending.items():
            entry = entries.get(msgid)
            if entry is None or not msgstr:
                continue
            if entry.msgid_plural:
                if not all(entry.msgstr_plural.values()) or "fuzzy" in entry.flags:
                    entry.msgstr_plural = {0: msgstr}
                    applied += 1
            elif not entry.msgstr or "fuzzy" in entry.flags:
                entry.msgstr = msgstr
                applied += 1
            if "fuzzy" in entry.flags:
                entry.flags.remove("fuzzy")
        if not keep and all(msgid in entries for msgid in pending):
            path.unlink()
    hans.save()
    return applied


class _Traditional:
    """zh_Hans text → zh_Hant (see the module's docstring)."""

    def __init__(self) -> None:
        self._opencc = opencc.OpenCC("s2tw")

    def convert(self, text: str) -> str:
        return self._opencc.convert(text).replace("臺", "台")


def main() -> int:
    converter = _Traditional()
    hans = polib.pofile(str(HANS))
    # --keep-pending: a branch keeps its pending file until it is merged, so that the translations survive a merge that
    # takes the other side's catalogue (the merge runs `make messages` again and the file fills the new entries).
    keep = "--keep-pending" in sys.argv[1:]
    print(f"zh_Hans: {_apply_pending(hans, keep=keep)} entries filled from locale/pending/.")
    hant = polib.pofile(str(HANT))
    source = {(entry.msgctxt, entry.msgid): entry for entry in hans if not entry.obsolete}
    filled = 0
    for entry in hant:
        if not _needs_fill(entry):
            continue
        simplified = source.get((entry.msgctxt, entry.msgid))
        if simplified is None or "fuzzy" in simplified.flags:
            continue
        if entry.msgid_plural:
            if not all(simplified.msgstr_plural.values()):
                continue
            entry.msgstr_plural = {k: converter.convert(v) for k, v in simplified.msgstr_plural.items()}
        elif simplified.msgstr:
            entry.msgstr = converter.convert(simplified.msgstr)
        else:
            continue
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        filled += 1
    hant.save()
    missing = {}
    for name, catalogue in (("zh_Hans", hans), ("zh_Hant", hant)):
        missing[name] = [e.msgid for e in catalogue if not e.obsolete and not e.translated()]
        catalogue.save_as_mofile(str(Path(catalogue.fpath).with_suffix(".mo")))
    print(f"zh_Hant: {filled} entries filled from zh_Hans.")
    for name, ids in missing.items():
        print(f"{name}: {len(ids)} untranslated" + (": " + "; ".join(ids[:10]) if ids else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
