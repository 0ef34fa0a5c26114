"""Dialogs: the conversations the bot holds, declared as state machines whose
state lives in Redis so any worker can take the next message."""
