"""Safety advice for an emergency, chosen by what is happening. The advice
texts live in texts.yaml; this table only says which one fits."""
from __future__ import annotations

from typing import Callable

# First match wins: the most dangerous situations come first.
ADVICE_BY_KEYWORD = (
    (("燃气", "煤气", "天然气", "液化气"), "advice_gas"),
    (("火", "烟", "焦味", "烧"), "advice_fire"),
    (("电梯", "困"), "advice_elevator"),
    (("触电", "漏电", "电线", "打火", "冒火花"), "advice_electric"),
    (("停电", "断电", "没电", "跳闸"), "advice_power"),
    (("水", "淹", "爆管", "爆裂", "漫"), "advice_water"),
    (("盗", "偷", "撬", "丢"), "advice_theft"),
    (("晕", "受伤", "流血", "中毒", "昏迷", "摔"), "advice_injury"),
)


def safety_advice(text: Callable[..., str], description: str) -> str:
    for keywords, key in ADVICE_BY_KEYWORD:
        if any(word in description for word in keywords):
            return text(key)
    return text("advice_default")
