"""Everything the bot says lives in texts.yaml (editable by an administrator;
`texts_file` in config.yaml points at a copy with local wording)."""
from __future__ import annotations

from pathlib import Path
from string import Formatter

import yaml

DEFAULT_TEXTS = Path(__file__).with_name("texts.yaml")


class Texts:
    def __init__(self, entries: dict[str, str]):
        self._entries = entries

    @classmethod
    def load(cls, override: str | Path | None = None) -> "Texts":
        entries = _read(DEFAULT_TEXTS)
        if override:
            entries.update(_read(Path(override)))
        return cls(entries)

    def __call__(self, key: str, **values) -> str:
        return self._entries[key].format(**values).strip()

    def keys(self) -> set[str]:
        return set(self._entries)

    def placeholders(self, key: str) -> set[str]:
        return {name for _, name, _, _ in Formatter().parse(self._entries[key]) if name}


def _read(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: 每一项都必须是 键: 文本")
    return data
