"""Understanding what people say: one message in, an Utterance out (what the
person is doing and which details the message holds), before any dialog
decides what to do with it."""
from dialogs.understanding.reader import Reader
from dialogs.understanding.utterance import Utterance

__all__ = ["Reader", "Utterance"]
