"""Python examples in the docs are executed, so they cannot rot.

A block that starts with an import is a complete example and is run; other blocks are fragments,
and a block that says ``# not run:`` (with the reason: it needs a server, a key, ...) is shown only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        for i, code in enumerate(BLOCK.findall(doc.read_text())):
            if code.startswith(("import ", "from ")) and "# not run:" not in code:
                out.append((f"{doc.name}#{i}", code))
    return out


@pytest.mark.parametrize(("where", "code"), _examples(), ids=[w for w, _ in _examples()])
def test_doc_example_runs(where: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(code, where, "exec"), {"__name__": "__doc_example__"})
