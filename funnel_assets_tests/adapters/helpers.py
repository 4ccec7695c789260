"""What the adapter tests share: where the vendor samples are, and small helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from funnel_assets.lib.adapters import Converted, Rejected, convert_file

# the vendor samples live in shared/ beside the repository (override with FUNNEL_SAMPLES_DIR)
SAMPLES = Path(os.environ.get("FUNNEL_SAMPLES_DIR", Path(__file__).resolve().parents[3] / "shared" / "samples"))
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"vendor samples not found at {SAMPLES}")


def convert(format_name: str, path: Path, **options) -> list[Converted | Rejected]:
    items = list(convert_file(format_name, path, options))
    assert all(item.file == str(path) for item in items if isinstance(item, Rejected))
    return items


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def rejection(item: Converted | Rejected) -> tuple:
    assert isinstance(item, Rejected), item
    return item.line, item.field, item.reason
