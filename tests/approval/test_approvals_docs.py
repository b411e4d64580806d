"""The runnable examples in docs/approvals.md (blocks that start with an import) run as shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "approvals.md"
BLOCKS = [b for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
          if b.startswith(("import ", "from "))]  # fmt: skip


@pytest.mark.parametrize("code", BLOCKS)
def test_doc_example_runs(code: str, capsys):
    exec(compile(code, str(DOC), "exec"), {"__name__": "docs_example"})
    assert "needs approval by a person" in capsys.readouterr().out


def test_there_is_a_runnable_example():
    assert len(BLOCKS) == 1
