"""Report msgids used in the code that a catalogue lacks (makemessages run into a scratch copy)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def msgids(po: Path) -> set[str]:
    ids, current, in_id = set(), [], False
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgid "):
            current, in_id = [line[6:]], True
        elif line.startswith('"') and in_id:
            current.append(line)
        else:
            if in_id:
                ids.add("".join(part.strip()[1:-1] for part in current))
            in_id = False
    ids.discard("")
    return ids


def main() -> int:
    scratch = Path(sys.argv[1])
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings_test")
    work = scratch.parent / "tree"
    shutil.copytree(
        ROOT, work, ignore=shutil.ignore_patterns(".venv", ".git", "var", "node_modules", "locale")
    )
    shutil.copytree(ROOT / "locale", work / "locale")
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "th",
            "-l",
            "ru",
            "-l",
            "es",
            "--ignore=.venv",
            "--no-obsolete",
            "-v",
            "0",
        ],
        cwd=work,
        env=env,
        check=True,
    )
    missing = 0
    for lang in ("th", "ru", "es"):
        have = msgids(ROOT / "locale" / lang / "LC_MESSAGES" / "django.po")
        need = msgids(work / "locale" / lang / "LC_MESSAGES" / "django.po")
        lacking = sorted(need - have)
        if lacking:
            missing += len(lacking)
            print(
                f"translations {lang}: {len(lacking)} strings missing from the catalogue, e.g. {lacking[:3]}"
            )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
