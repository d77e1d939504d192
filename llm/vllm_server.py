"""Start and stop a local ``vllm serve`` (OpenAI-compatible) process: for tests, benchmarks, demos.

``with VLLMServer(model) as server: OpenAICompatibleLLM(server.base_url)``. The server listens on
127.0.0.1 on a free port, readiness is polled with a deadline, and the process group is always
stopped on exit, also when start-up fails (its log tail is then in the error).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from citeline.core.generation import LLMError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VLLMServer:
    def __init__(self, model: str | Path, python: str = sys.executable, startup_timeout: float = 600.0,
                 gpu_memory_utilization: float | None = None, max_model_len: int = 4096,
                 extra_args: Sequence[str] = ()) -> None:
        self.model = str(model)
        self.python = python
        self.startup_timeout = startup_timeout
        self.gpu_memory_utilization = gpu_memory_utilization
        self.max_model_len = max_model_len
        self.extra_args = list(extra_args)
        self.port = 0
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _command(self) -> list[str]:
        from citeline.llm.vllm_offline import CPU_MEMORY_SHARE, on_gpu

        share = self.gpu_memory_utilization or (0.9 if on_gpu() else CPU_MEMORY_SHARE)
        command = [self.python, "-m", "vllm.entrypoints.openai.api_server", "--model", self.model,
                   "--served-model-name", Path(self.model).name, "--host", "127.0.0.1", "--port", str(self.port), "--max-model-len",
                   str(self.max_model_len), "--gpu-memory-utilization", str(share)]
        if not on_gpu():
            command.append("--enforce-eager")  # CPU graph compilation costs minutes for no gain here
        return command + self.extra_args

    def start(self) -> VLLMServer:
        self.port = free_port()
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(self._command(), stdout=self._log, stderr=subprocess.STDOUT,
                                         start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LLMError(f"vllm serve exited with code {self._process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise LLMError(f"vllm serve was not ready within {self.startup_timeout:g} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return "\n".join(self._log.read().splitlines()[-lines:])

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)  # its own session: workers go too
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> VLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
