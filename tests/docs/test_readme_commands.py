"""Every `domainfit …` command written in the READMEs (English and Chinese) and the docs exists, with the options it
uses: a renamed command or option that the docs still show fails here, not in a user's terminal."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main

from domainfit.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted((ROOT / "docs").glob("*.md"))]


def _commands(path: Path) -> list[tuple[int, str]]:
    """(line number, command) of each `domainfit …` line inside a fenced code block."""
    found, fenced = [], False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        text = line.strip().removeprefix("$ ")
        if fenced and text.startswith("domainfit "):
            found.append((number, text.split(" #")[0].split("  #")[0].rstrip(" \\")))
    return found


CASES = [(f"{p.relative_to(ROOT)}:{n}", cmd) for p in DOCS if p.exists() for n, cmd in _commands(p)]


def _resolve(words: list[str]):
    """The (click) command the words name, and the words left for it. Groups are told by their `commands` (typer
    may carry its own click)."""
    command = typer.main.get_command(app)
    rest = list(words)
    while hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        sub = command.commands.get(rest[0])
        if sub is None:
            raise AssertionError(f"no command {rest[0]!r} under {command.name!r}")
        command, rest = sub, rest[1:]
    return command, rest


def test_the_docs_show_commands():
    assert len([c for c in CASES if c[0].startswith("README.md")]) >= 10
    assert len([c for c in CASES if c[0].startswith("README.zh-CN.md")]) >= 10


@pytest.mark.parametrize(("where", "line"), CASES, ids=[c[0] for c in CASES])
def test_documented_command_and_its_options_exist(where, line):
    try:
        words = shlex.split(line)[1:]
    except ValueError:  # an unbalanced quote in prose-like examples: check the words before it
        words = line.split()[1:]
    words = [w for w in words if not re.fullmatch(r"[|&;>]+.*", w)]
    if "|" in words:
        words = words[: words.index("|")]
    command, rest = _resolve(words)
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
    used = {w.split("=")[0] for w in rest if w.startswith("--")}
    assert used <= known, f"{where}: `{line}` uses {sorted(used - known)}, which `{command.name}` does not take"
