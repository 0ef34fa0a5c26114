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
LABELLED = "labelled"  # folder of labelled sentences (*.tsv) the category model learns from


def labelled_files(extra_dir: str | Path | None = None) -> list[Path]:
    """The packaged labelled sets, then an administrator's in `extra_dir`/labelled/."""
    folders = [DATA_DIR / LABELLED] + ([Path(extra_dir) / LABELLED] if extra_dir else [])
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob("*.tsv"))]


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


class DuplicateKey(ValueError):
    """A word list names the same key twice: YAML would silently keep the last one."""


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise DuplicateKey(f"{self.name}：第 {key_node.start_mark.line + 1} 行的“{key}”前面已经写过一次，"
                                   "只保留一处（YAML 会悄悄丢掉前一处）")
            seen.add(key)
        return super().construct_mapping(node, deep)


def _read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_StrictLoader) or {}
