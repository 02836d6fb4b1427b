"""The suite writes only under pytest's temporary folders, never to a fixed /tmp path."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from toy_specs import Counter

from modelcheck import PropertyViolation
from modelcheck.integrations import hypothesis as bridge


def test_a_failing_hypothesis_run_saves_its_trace_under_pytests_temporary_folder(
    tmp_path_factory,
):
    with pytest.raises(PropertyViolation) as caught:
        bridge.run(Counter(n=4, bad=2))
    saved = Path(str(caught.value).split("Saved to ", 1)[1].split(";", 1)[0])
    assert saved.exists()
    assert saved.is_relative_to(tmp_path_factory.getbasetemp())
    assert not saved.is_relative_to(Path(tempfile.gettempdir()) / "modelcheck-traces")
