"""Fake kernel side of ``google.colab.kernel.invokeFunction`` (tests only).

``invoke_function(name, args_json, kwargs_json)`` calls the function registered
under ``name`` with the decoded arguments and returns what the page receives:
``{"data": mime bundle}`` of the result, formatted by IPython as a displayed
value would be (an ``IPython.display.JSON`` gives ``application/json``).
"""

from __future__ import annotations

import json
from typing import Any

from google.colab import output


def invoke_function(function_name: str, args_json: str, kwargs_json: str) -> dict[str, Any]:
    callback = output.callbacks.get(function_name)
    if callback is None:
        raise KeyError(f"no callback registered as {function_name!r}")
    result = callback(*json.loads(args_json), **json.loads(kwargs_json))
    if result is None:
        return {"data": {}}
    from IPython.core.formatters import DisplayFormatter

    data, _metadata = DisplayFormatter().format(result)
    return {"data": data}
