"""Report msgids used in the code that a catalogue lacks (makemessages runs in a scratch copy of the tree)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not copied into the scratch tree: environments, caches and local state.
SKIP = (
    ".venv",
    ".venv-pm4py",
    ".git",
    "var",
    "node_modules",
    ".hypothesis",
    ".mypy_cache",
    ".ruff_cache",
    "__pycache__",
)


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
    scratch = Path(sys.argv[1])  # an empty scratch directory
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings_test")
    work = scratch / "tree"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(*SKIP))
    done = subprocess.run(
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
    )
    if done.returncode:
        print("translations: makemessages failed in the scratch copy", file=sys.stderr)
        return 1
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
