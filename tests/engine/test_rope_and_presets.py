"""YaRN beyond Qwen's native 32K context, and presets for base models."""

import dataclasses
import re

import llama_cpp

from app.engine import ChatEngine, LoadOptions, preset_for, read_model_facts
from app.engine.engine import rope_overrides
from tests.engine.test_planner import qwq_facts


def test_qwq_beyond_32k_gets_yarn_factor_4():
    facts = qwq_facts()
    assert rope_overrides(facts, 32768) == {}
    yarn = rope_overrides(facts, 65536)
    assert yarn["rope_scaling_type"] == llama_cpp.LLAMA_ROPE_SCALING_TYPE_YARN
    assert yarn["yarn_orig_ctx"] == 32768
    assert yarn["rope_freq_scale"] == 0.25


def test_models_with_their_own_rope_scaling_or_other_families_keep_theirs():
    assert rope_overrides(dataclasses.replace(qwq_facts(), rope_scaling="yarn"), 65536) == {}
    assert rope_overrides(dataclasses.replace(qwq_facts(), architecture="llama"), 65536) == {}


def test_llama_cpp_really_applies_yarn(tiny_answer_gguf):
    engine = ChatEngine.load(tiny_answer_gguf, LoadOptions(n_ctx=40960, n_threads=1))
    try:
        log = engine.load_report.log_text
        assert re.search(r"llama_context: freq_scale\s+=\s+0\.25", log)
        assert "YaRN scaling detected" in log
        assert engine.chat([{"role": "user", "content": "hi"}]).answer == "Paris"
    finally:
        engine.close()


def test_base_models_get_short_completions_by_default(gemma_gguf):
    assert preset_for(read_model_facts(gemma_gguf)).max_tokens == 256
