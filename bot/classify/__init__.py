"""Complaint classifier: category, emergency, location, mood and compensation
for one message, driven by editable word lists in data/."""

from .classifier import Classification, Classifier, classify_lines

__all__ = ["Classification", "Classifier", "classify_lines"]
