"""Reading the data files: the packaged ones plus an administrator's additions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
DATA_FILES = (
    "categories.yaml",
    "emergency.yaml",
    "cues.yaml",
    "mood.yaml",
    "compensation.yaml",
    "places.yaml",
)


def load_tables(extra_dir: str | Path | None = None) -> dict[str, Any]:
    """Each data file by name; a same-named file in `extra_dir` is merged on top."""
    tables = {}
    for name in DATA_FILES:
        table = _read_yaml(DATA_DIR / name)
        extra = Path(extra_dir) / name if extra_dir else None
        if extra is not None and extra.is_file():
            table = merge(table, _read_yaml(extra))
        tables[name] = table
    return tables


def merge(base: Any, extra: Any) -> Any:
    """Mappings merge key by key, lists gain the new items, anything else is replaced.

    So an administrator's file only needs the words to add or re-weight.
    """
    if isinstance(base, dict) and isinstance(extra, dict):
        merged = dict(base)
        for key, value in extra.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(extra, list):
        return base + [item for item in extra if item not in base]
    return base if extra is None else extra


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}
