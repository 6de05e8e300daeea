"""Fake ``google.colab.output``: the callback registry (tests only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: name -> Python function, as ``register_callback`` left them.
callbacks: dict[str, Callable[..., Any]] = {}
#: how often ``enable_custom_widget_manager`` was called.
widget_manager_calls = 0


def register_callback(function_name: str, callback: Callable[..., Any]) -> None:
    """Make ``callback`` callable from the page as ``google.colab.kernel.invokeFunction``."""
    callbacks[function_name] = callback


def enable_custom_widget_manager() -> None:
    global widget_manager_calls
    widget_manager_calls += 1
