"""Generated kernels on disk, so that a second run skips numba's compilation.

numba caches compiled machine code beside a function's source file, keyed
by the file; it cannot cache code compiled from a string.  So a kernel's
source is written to a file whose name is the SHA-256 of its text (plus the
numba, numpy, Python and modelcheck versions), imported as a registered
module, and compiled with ``cache=True``.  A different spec, parameter or
version gives different text and so a different file: a kernel is never
reused for anything but the source it was compiled from.  A file whose text
is not exactly the expected one (truncated, edited, corrupt) is rewritten,
and a numba cache that fails to load is removed and rebuilt.

Every constant the kernel uses is in its source text (numba's cache does
not notice a change to a global the code reads), see
:mod:`modelcheck.engines.compiled.codegen`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numba
import numpy

from modelcheck.errors import ModelcheckError

#: Environment variable naming the directory for generated kernels.
CACHE_ENV = "MODELCHECK_CACHE_DIR"


def cache_dir() -> Path:
    """Where kernels are kept: ``$MODELCHECK_CACHE_DIR``, else the user's cache directory."""
    named = os.environ.get(CACHE_ENV)
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "modelcheck" / "kernels"


def _versions() -> str:
    from modelcheck._version import __version__

    return (
        f"# modelcheck {__version__}, numba {numba.__version__}, numpy {numpy.__version__}, "
        f"Python {platform.python_version()} ({platform.machine()})\n"
    )


def key_of(source: str) -> str:
    """The cache key of a kernel: a hash of its text and the versions that compile it."""
    return hashlib.sha256((_versions() + source).encode()).hexdigest()[:32]


def is_cached(source: str) -> bool:
    """Whether this kernel's machine code is on disk (a run would skip the JIT)."""
    path = cache_dir() / f"kernel_{key_of(source)}.py"
    try:
        if path.read_text(encoding="utf-8") != _versions() + source:
            return False
    except OSError:
        return False
    caches = path.parent / "__pycache__"
    # The one-process search's function: a kernel can be cached in part (the cluster
    # search compiles only the functions its shards call).
    return any(caches.glob(f"{path.stem}.run-*.nbi")) if caches.is_dir() else False


def load(source: str) -> ModuleType:
    """The kernel module for ``source``, written to the cache directory and imported."""
    key = key_of(source)
    folder = cache_dir()
    name = module_name(key, folder)
    if name in sys.modules:
        return sys.modules[name]
    text = _versions() + source
    path = folder / f"kernel_{key}.py"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            _write_atomically(path, text)
    except OSError as exc:
        raise ModelcheckError(
            f"cannot write the compiled engine's kernel to {folder} ({exc.strerror or exc}); "
            f"set {CACHE_ENV} to a writable directory, or use --engine python"
        ) from None
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def forget(source: str) -> None:
    """Remove the numba cache of a kernel (after it failed to load) so it is rebuilt."""
    key = key_of(source)
    caches = cache_dir() / "__pycache__"
    for stale in caches.glob(f"kernel_{key}.*"):
        stale.unlink(missing_ok=True)
    sys.modules.pop(module_name(key, cache_dir()), None)


def module_name(key: str, folder: Path) -> str:
    """The kernel's module name: one per kernel *and* folder, so that a kernel loaded from
    one cache folder is not taken for one cached in another (whose file may be missing)."""
    where = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]
    return f"modelcheck_kernel_{key}_{where}"


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".kernel-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clear() -> None:
    """Remove every cached kernel (``modelcheck`` never needs it; for tests and users)."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
