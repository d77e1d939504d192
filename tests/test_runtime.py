"""The verifiers' runtimes: ONNX Runtime gives torch's scores, its tokenizer gives transformers'
ids, the export is cached, and a check in a fresh process imports no torch."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from citeline.core.errors import EnvironmentFailure
from citeline.verifiers import runtime
from citeline.verifiers.cross_encoder import CrossEncoderVerifier
from tests.tiny_models import tiny_bert

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnxruntime")

EVIDENCE = ("Paris is the capital of France. Berlin is a city in Germany. The Seine is a river in Paris. "
            "The population of Paris was 2 million in 1889.")
PAIRS = [(EVIDENCE, "paris is the capital of france"), (EVIDENCE, "berlin is not a river. it was founded in 1899"),
         ("", "paris"), ("the a", "claim evidence tower")]


@pytest.fixture(scope="module")
def nli_model(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("nli"), ("contradiction", "neutral", "entailment"), hidden=32, layers=2)


@pytest.fixture(autouse=True)
def no_runtime_override(monkeypatch):
    monkeypatch.delenv(runtime.RUNTIME_ENV, raising=False)


def test_fast_tokenizer_gives_the_ids_offsets_and_truncation_of_transformers(nli_model):
    slow = transformers.AutoTokenizer.from_pretrained(nli_model)
    fast = runtime.FastTokenizer(nli_model)
    texts = [EVIDENCE, "Paris, the city!", "", "unknown words here 1889"]
    claims = ["paris is the capital", "berlin " * 40, "x", "it was founded"]
    assert fast("a")["input_ids"] == slow("a")["input_ids"]
    plain = dict(add_special_tokens=False, return_offsets_mapping=True)
    for key in ("input_ids", "offset_mapping"):
        assert [list(map(tuple, row)) if key == "offset_mapping" else row for row in fast(texts, **plain)[key]] == \
            [list(map(tuple, row)) if key == "offset_mapping" else row for row in slow(texts, **plain)[key]]
    for max_length in (8, 24, 128):
        ours = fast(texts, claims, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        theirs = slow(texts, claims, padding=True, truncation=True, max_length=max_length, return_tensors="np")
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            assert np.array_equal(ours[key], theirs[key]), (key, max_length)
    truncated = dict(add_special_tokens=False, truncation=True, max_length=5)
    assert fast(claims, **truncated)["input_ids"] == slow(claims, **truncated)["input_ids"]
    assert len(fast) == len(slow)
    assert fast.all_special_ids == sorted(slow.all_special_ids)
    assert fast.pad_token_id == slow.pad_token_id
    assert fast.convert_ids_to_tokens([0, 5, 7]) == slow.convert_ids_to_tokens([0, 5, 7])


def test_onnx_and_torch_give_the_same_scores_windows_and_contradictions(nli_model):
    settings = dict(max_length=24, windows="sentences", split_claims=True)
    onnx = CrossEncoderVerifier(nli_model, runtime="onnx", **settings)
    on_torch = CrossEncoderVerifier(nli_model, runtime="torch", **settings)
    for ours, theirs in zip(onnx.scores(PAIRS), on_torch.scores(PAIRS)):
        assert ours.support == pytest.approx(theirs.support, abs=1e-5)
        assert ours.contradiction == pytest.approx(theirs.contradiction, abs=1e-5)
        assert ours.window == theirs.window
    assert isinstance(onnx._model, runtime.OnnxEncoder) and isinstance(on_torch._model, runtime.TorchEncoder)


def test_embedding_signals_are_the_same_on_both_runtimes(nli_model):
    from citeline.verifiers.similarity import EmbeddingSimilarity

    ours = EmbeddingSimilarity(nli_model, max_length=16, runtime="onnx").signals(PAIRS)
    theirs = EmbeddingSimilarity(nli_model, max_length=16, runtime="torch").signals(PAIRS)
    assert np.allclose(np.array(ours), np.array(theirs), atol=1e-4)


def test_the_export_is_cached_and_redone_when_the_weights_change(nli_model, monkeypatch):
    path = runtime.onnx_path(nli_model, "classifier")
    runtime.onnx_encoder(nli_model, "classifier")
    assert path.is_file()

    def no_export(*args):
        raise AssertionError("exported again")

    monkeypatch.setattr(runtime, "export_onnx", no_export)
    runtime.onnx_encoder(nli_model, "classifier")  # from the cache
    weights = nli_model / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert runtime.onnx_path(nli_model, "classifier") != path  # a retrained model is exported anew


def test_shrinking_the_arenas_leaves_the_scores_alone(nli_model):
    encoder = runtime.onnx_encoder(nli_model, "classifier")
    batch = {"input_ids": np.array([[1, 5, 7, 2]]), "attention_mask": np.ones((1, 4), dtype=np.int64)}
    before = encoder(batch)
    runtime.shrink_arenas()
    np.testing.assert_allclose(encoder(batch), before, rtol=1e-6)


def test_exports_of_deleted_model_folders_are_pruned(tmp_path):
    gone = tiny_bert(tmp_path / "gone", ("supported",))
    path = runtime.onnx_path(gone, "classifier")
    runtime.onnx_encoder(gone, "classifier")
    assert path.is_file() and path.with_suffix(".json").is_file()
    for item in gone.iterdir():
        item.unlink()
    gone.rmdir()
    runtime.prune_exports(path.parent)
    assert not path.exists() and not path.with_suffix(".json").exists()


def test_int8_is_the_float32_export_quantised_once_and_scores_close_to_it(nli_model, monkeypatch):
    full = runtime.onnx_encoder(nli_model, "classifier")

    def no_export(*args):
        raise AssertionError("exported again: int8 is made from the float32 export")

    monkeypatch.setattr(runtime, "export_onnx", no_export)
    int8 = runtime.onnx_encoder(nli_model, "classifier", precision="int8")
    path = runtime.onnx_path(nli_model, "classifier", "int8")
    assert path.is_file() and path != runtime.onnx_path(nli_model, "classifier")
    assert path.stat().st_size < runtime.onnx_path(nli_model, "classifier").stat().st_size
    batch = {"input_ids": np.array([[1, 5, 7, 9, 2], [1, 6, 8, 2, 0]]),
             "attention_mask": np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]])}
    exact, quantised = full(batch), int8(batch)
    assert quantised.shape == exact.shape and not np.array_equal(quantised, exact)
    assert np.abs(quantised - exact).max() < 0.1 * np.abs(exact).max()
    runtime.onnx_encoder(nli_model, "classifier", precision="int8")  # from the cache


def test_auto_is_onnx_for_float32_and_int8_torch_for_bfloat16_and_the_variable_wins(monkeypatch):
    assert runtime.use_onnx("auto", "auto")
    assert runtime.use_onnx("auto", "float32")
    assert runtime.use_onnx("auto", "int8")
    assert not runtime.use_onnx("auto", "bfloat16")
    assert not runtime.use_onnx("torch", "float32")
    with pytest.raises(ValueError, match="needs runtime='torch'"):
        runtime.use_onnx("onnx", "bfloat16")
    with pytest.raises(ValueError, match="runtime must be one of"):
        runtime.check_runtime("tensorrt")
    monkeypatch.setenv(runtime.RUNTIME_ENV, "torch")
    assert not runtime.use_onnx("auto", "float32")
    assert runtime.use_onnx("onnx", "float32")  # an explicit runtime is not overridden
    monkeypatch.setenv(runtime.RUNTIME_ENV, "gpu")
    with pytest.raises(EnvironmentFailure, match=r"\$CITELINE_RUNTIME must be one of"):
        runtime.use_onnx("auto", "float32")


def test_a_hub_name_runs_on_torch_under_auto_and_is_refused_by_onnx():
    assert not CrossEncoderVerifier("org/model")._load_onnx()
    with pytest.raises(ValueError, match="needs a local model folder"):
        CrossEncoderVerifier("org/model", runtime="onnx")._load_onnx()


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != runtime.RUNTIME_ENV}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_spacy_loads_without_importing_torch_and_torch_still_imports_after():
    pytest.importorskip("spacy")
    assert _run("import sys\nfrom citeline.core.sentences import import_spacy\nimport_spacy(hide_torch=True)\n"
                "print('torch' in sys.modules)\nimport torch\nprint(torch.ones(1).item())") == "False\n1.0"


@pytest.mark.slow
def test_a_check_with_the_default_verifier_imports_no_torch():
    code = ("import sys, citeline\n"
            "r = citeline.check('The Eiffel Tower is not in Paris [1].', ['The Eiffel Tower is in Paris, France.'])\n"
            "print(r.claims[0].support.verdict.label, 'torch' in sys.modules, 'transformers' in sys.modules)")
    _run(code)  # the first run may export the shipped models to ONNX (with torch), once
    assert _run(code) == "not_supported False False"
