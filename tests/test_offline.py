"""Issue 15: with the hub out of reach, a hub model name fails at once with one message naming the
model and the fixes (no retries), and a model already in the local cache still loads."""

import os
import socket
import subprocess
import sys

import pytest

from citeline.core import paths
from citeline.core.errors import EnvironmentFailure
from tests.tiny_models import tiny_bert

CHECK = ["-m", "citeline.pipeline.cli", "check", "--answer", "Paris is the capital of France [1].",
         "--splitter", "regex"]


def closed_port() -> int:
    with socket.socket() as sock:  # nothing listens on it once closed: connecting is refused at once
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(tmp_path, **settings):
    """This process's environment with the hub switched on (HF_HUB_OFFLINE unset) and an empty cache."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_HUB_CACHE=str(tmp_path / "hub"), **settings)
    return env


def citeline_check(tmp_path, verifier, **settings):
    (tmp_path / "paris.txt").write_text("Paris is the capital of France.")
    return subprocess.run([sys.executable, *CHECK, "--source", str(tmp_path / "paris.txt"), "--verifier", verifier],
                          capture_output=True, text=True, env=environment(tmp_path, **settings), timeout=600)


@pytest.fixture(autouse=True)
def fresh_probe(monkeypatch):
    monkeypatch.setattr(paths, "_hub_probes", {})


def test_an_uncached_hub_model_fails_with_one_message_on_this_machine(tmp_path):
    # The real hub, which this machine (and CI) cannot reach; with internet the hub answers
    # "no such model" instead, which fails the same way.
    done = citeline_check(tmp_path, "someone/not-a-model")
    assert done.returncode == 3, done.stderr
    assert done.stderr.count("\n") == 1 and "someone/not-a-model" in done.stderr
    assert "Retrying" not in done.stderr and "Traceback" not in done.stderr


def test_an_unreachable_hub_is_named_with_the_fixes(tmp_path):
    done = citeline_check(tmp_path, "lytang/MiniCheck-RoBERTa-Large#1",
                          HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    assert done.returncode == 3
    message = done.stderr
    assert message.startswith("citeline: error: cannot load verifier model 'lytang/MiniCheck-RoBERTa-Large'")
    for fix in ("not in the Hugging Face cache", "pass a local model folder", "hf download lytang/MiniCheck-RoBERTa-Large",
                "models--lytang--MiniCheck-RoBERTa-Large", "set HF_HUB_OFFLINE=1"):
        assert fix in message
    assert message.count("\n") == 1


@pytest.mark.slow
def test_a_cached_hub_model_loads_without_the_hub(tmp_path):
    snapshot = tmp_path / "hub" / "models--someone--tiny-nli" / "snapshots" / ("0" * 40)
    tiny_bert(snapshot, ("not_supported", "supported"))
    (tmp_path / "hub" / "models--someone--tiny-nli" / "refs").mkdir()
    (tmp_path / "hub" / "models--someone--tiny-nli" / "refs" / "main").write_text("0" * 40)
    done = citeline_check(tmp_path, "someone/tiny-nli", HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    assert done.returncode in (0, 1), done.stderr  # checked: supported or not, by a random tiny model
    assert "someone/tiny-nli" in done.stdout and "Retrying" not in done.stderr


def test_options_for_a_hub_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub is off: nothing is probed
    assert paths.hub_model_options(str(tmp_path)) == {}  # a local folder
    assert paths.hub_model_options("path/to/a/missing/folder") == {}  # not a hub id: left to the loader
    with pytest.raises(EnvironmentFailure, match="'org/model'.*HF_HUB_OFFLINE is set"):
        paths.hub_model_options("org/model")
    (tmp_path / "models--org--model" / "snapshots" / "abc").mkdir(parents=True)
    (tmp_path / "models--org--model" / "snapshots" / "abc" / "config.json").write_text("{}")
    assert paths.hub_model_options("org/model") == {"local_files_only": True}
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:1")  # behind a proxy: left to the hub client
    assert paths.hub_model_options("org/other") == {}
    assert paths._hub_probes == {}


def test_the_probe_runs_once_per_process(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    first = paths.hub_unreachable()
    assert first and "127.0.0.1" in first
    monkeypatch.setattr(paths, "_probe", lambda host, port: pytest.fail("probed twice"))
    assert paths.hub_unreachable() == first
