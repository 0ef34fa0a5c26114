"""Handlers: who is speaking and what they sent decide what happens next."""
from handlers.context import Context, Outcome
from handlers.routing import dispatch

__all__ = ["Context", "Outcome", "dispatch"]
