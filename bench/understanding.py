"""How well the reader understands single messages: per-act precision and
recall, and how often it finds (or invents) a place, a time, a phone.

    .venv/bin/python bench/understanding.py [--file tests/data/utterances.tsv] [--errors]
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bot.classify import Classifier  # noqa: E402
from dialogs.understanding import Reader  # noqa: E402
from dialogs.understanding.evaluate import acts_in, read_labelled, score  # noqa: E402

DEFAULT_FILE = ROOT / "tests" / "data" / "utterances.tsv"
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--errors", action="store_true", help="list every message read wrongly")
    args = parser.parse_args()
    examples = read_labelled(args.file)
    scores = score(Reader.load(Classifier.load()), examples, NOW)
    print(f"{args.file.name}: {scores.total} 条，动作整体准确率 {scores.accuracy:.1%}")
    print(f"{'动作':<10}{'数量':>6}{'精确率':>9}{'召回率':>9}")
    for act in acts_in(scores):
        print(f"{act:<10}{scores.support(act):>6}{scores.precision(act):>9.1%}{scores.recall(act):>9.1%}")
    for detail in ("place", "time", "phone"):
        print(f"{detail}: 完全一致 {scores.rate(detail, 'exact'):.1%}，部分一致 {scores.rate(detail, 'partial'):.1%}，"
              f"漏掉 {scores.rate(detail, 'missed'):.1%}，错填 {scores.rate(detail, 'wrong'):.1%}，"
              f"凭空多出 {scores.rate(detail, 'invented'):.1%}")
    if args.errors:
        for example, got in scores.errors:
            print(f"  [{example.act}→{got.act}] {example.text} | 地点 {example.place or '-'}→{got.place or '-'} "
                  f"| 时间 {example.time or '-'}→{got.time.text if got.time else '-'} "
                  f"| 电话 {example.phone or '-'}→{got.phone or '-'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
