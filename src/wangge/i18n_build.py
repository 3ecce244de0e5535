"""Compile every .po catalogue under src/wangge into its .mo file, without GNU gettext.

`make` runs this so a fresh machine needs nothing beyond Python; developers who add strings still use
`wangge makemessages` (which needs gettext) to update the .po files.
"""

from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent


def compile_catalogues(root: Path = ROOT) -> list[Path]:
    written = []
    for po_path in sorted(root.rglob("locale/*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
        written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in compile_catalogues():
        print(f"compiled {path.relative_to(ROOT.parent.parent)}")
