import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from citeline.core.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = data_dir()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set CITELINE_DATA)")
    return SHARED_DATA
