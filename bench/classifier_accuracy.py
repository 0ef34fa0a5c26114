"""Accuracy and speed of the complaint classifier on a labelled TSV.

    .venv/bin/python bench/classifier_accuracy.py [--file bot/classify/data/labelled/complaints_holdout.tsv] [--leave-out] [--errors]

--leave-out trains the category model without the file being scored, so the
figure is the model's first sight of those sentences (the keyword lists may
still have been tuned on them; a new file measured before any tuning is the
only fully fair figure).

Speed is reported as a ratio to plain jieba.lcut on the same texts, measured
in the same run, so the figure means the same on any machine. Long input is
reported the same way: the slowest of a few 20,000-character messages against
one ordinary message (work that grows with the square of the length would show
as a ratio in the hundreds of thousands; linear work stays near the length ratio).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jieba

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bot.classify import Classifier  # noqa: E402
from bot.classify.evaluate import evaluate, read_examples  # noqa: E402

DEFAULT_FILE = ROOT / "bot" / "classify" / "data" / "labelled" / "complaints.tsv"
ROUNDS = 5
LONG = 20_000
NORMAL = "9号楼305卫生间顶上漏水，滴到床上了"
LONG_MESSAGES = {  # shapes that once took seconds: one keyword repeated, no clause breaks
    "漏×20000": "漏" * LONG,
    "停电了，来电了吗？…": ("停电了，来电了吗？" * LONG)[:LONG],
    "着火…": ("着火" * LONG)[:LONG],
    "1号楼…": ("1号楼" * LONG)[:LONG],
    "普通投诉重复": (NORMAL + "。" + "上次电梯困人，到现在还没修好！") * (LONG // 30),
}


def per_message_seconds(func, texts: list[str]) -> float:
    for text in texts:  # warm-up: caches, lazy imports
        func(text)
    start = time.perf_counter()
    for _ in range(ROUNDS):
        for text in texts:
            func(text)
    return (time.perf_counter() - start) / (ROUNDS * len(texts))


def seconds(func, text: str, repeat: int) -> float:
    """Best of `repeat` runs: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(text)
        best = min(best, time.perf_counter() - start)
    return best


def long_message_ratio(classify) -> tuple[str, float, float]:
    """(shape, seconds, ratio to one normal message) for the slowest long shape."""
    normal = seconds(classify, NORMAL, 50)
    name, slowest = max(((name, seconds(classify, text[:LONG], 2)) for name, text in LONG_MESSAGES.items()),
                        key=lambda pair: pair[1])
    return name, slowest, slowest / normal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE, help="labelled TSV")
    parser.add_argument("--leave-out", action="store_true",
                        help="do not let the category model learn from --file")
    parser.add_argument("--errors", action="store_true", help="list every miss")
    args = parser.parse_args(argv)

    examples = read_examples(args.file)
    classifier = Classifier.load(leave_out=args.file.name if args.leave_out else None)
    report = evaluate(classifier, examples)

    texts = [e.text for e in examples]
    plain = jieba.Tokenizer()
    plain.initialize()
    ours = per_message_seconds(classifier.classify, texts)
    baseline = per_message_seconds(plain.lcut, texts)

    rows = [
        ("类别准确率 category accuracy", report.category),
        ("子类准确率 subcategory accuracy (管理服务)", report.subcategory),
        ("紧急召回率 emergency recall", report.emergency_recall),
        ("误报率 false-alarm rate", report.false_alarms),
        ("地点准确率 location accuracy", report.location),
        ("情绪准确率 mood accuracy", report.mood),
        ("索赔准确率 compensation accuracy", report.compensation),
    ]
    print(f"文件 file: {args.file}  ({len(examples)} 条 messages)")
    print(f"{'指标 metric':<44}{'值 value':>10}{'命中/总数':>12}")
    for name, ratio in rows:
        print(f"{name:<44}{ratio.value:>10.1%}{f'{ratio.right}/{ratio.total}':>12}")
    print(f"{'每条耗时 / jieba.lcut  time per message ratio':<44}{ours / baseline:>10.1f}x")
    shape, long_seconds, ratio = long_message_ratio(classifier.classify)
    print(f"{'2万字 / 普通一条  20k-char vs normal message':<44}{ratio:>10.0f}x   "
          f"(最慢 slowest: {shape}, {long_seconds:.2f}s; 长度比 length ratio {LONG // len(NORMAL)}x)")
    if args.errors:
        print("\n错误 mistakes:")
        for kind, text, example, result in report.mistakes:
            print(f"  [{kind}] {text}\n      want {sorted(example.categories)} emergency={sorted(example.emergency)} "
                  f"location={example.location} mood={sorted(example.mood) or '-'} comp={sorted(example.compensation)}\n"
                  f"      got  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
