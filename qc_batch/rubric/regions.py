"""Hunan's 市州 and some of their 县市区 (``data/hunan.yaml``)."""

from __future__ import annotations

import functools
from importlib import resources

import yaml


@functools.lru_cache(maxsize=1)
def hunan() -> dict[str, tuple[str, ...]]:
    """市州 -> its 县市区, in the file's order."""
    text = resources.files("qc_batch").joinpath("data/hunan.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)["prefectures"]
    return {str(k): tuple(str(c) for c in v) for k, v in data.items()}
