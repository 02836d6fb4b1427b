"""Traces from parent links: how a search turns a found state into a run."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from modelcheck.model import Model
from modelcheck.trace import Trace


def path_to(model: Model, index: Mapping[Any, Any], state: Any) -> Trace:
    """The trace from an initial state to ``state``, following parent links."""
    chain = [state]
    parent = index[state]
    while parent is not None:
        chain.append(parent)
        parent = index[parent]
    chain.reverse()
    steps = [
        (model.action_between(before, after), after) for before, after in itertools.pairwise(chain)
    ]
    return model.run_trace(chain[0], steps)
