"""Which engine runs a check: ``CheckOptions.engine`` is ``auto``, ``python`` or ``compiled``.

* ``python``: the Python BFS (:mod:`modelcheck.engines.bfs`), for any spec.
* ``compiled``: the compiled BFS (:mod:`modelcheck.engines.compiled`) when
  the spec is in the symbolic subset and numba imports; otherwise, or when
  a run meets something it cannot do exactly, the Python engine runs and
  the result says why (:attr:`~modelcheck.result.CheckResult.engine_note`).
* ``auto``: the Python engine first, for up to :data:`TRIAL_STATES`
  states; a model it finishes there is done (compiling would cost more
  than it saves: extraction and a cold JIT take seconds), a larger one
  goes to the compiled engine as for ``compiled``.  The trial's budget is a
  count of states, not a time, so which engine runs does not depend on the
  machine.

With ``store="fingerprints"`` the Python engine runs, with the fingerprint
store (:mod:`modelcheck.engines.fingerprint_search`); the compiled engine is
refused with it (it already stores whole states in about 14 bytes).

With ``symmetry``, both engines reduce, to the same representatives (the
compiled kernel canonicalises packed states, see
:mod:`modelcheck.engines.compiled.canonical`); a declaration the kernel
cannot rename exactly sends the run to the Python engine, which says why.

Every engine gives the same counts, verdicts and traces (differential
tests hold them to it), so the choice changes only speed and memory.
Liveness properties are checked by the Python engine only: a check that
asks for one runs there, with a note when another engine was asked for.

With ``ray``, the cluster search runs (:mod:`modelcheck.engines.cluster`):
its shards run the compiled kernel where ``compiled`` would, and the spec's
Python code otherwise (or with ``python``); what it cannot do (liveness,
``coverage``, ``symmetry``, a ``@constraint``) runs on the Python engine in
one process, with a note.
"""

from __future__ import annotations

import attrs

from modelcheck.engines import bfs, checkpoints
from modelcheck.engines.bfs import CheckOptions, ProgressCallback
from modelcheck.engines.compiled import numba_missing
from modelcheck.errors import CheckpointError, ModelcheckError
from modelcheck.model import Model
from modelcheck.result import CheckResult

#: ``auto`` lets the Python engine finish a model of at most this many states.
TRIAL_STATES = 100_000


def check(
    model: Model, options: CheckOptions | None = None, progress: ProgressCallback | None = None
) -> CheckResult:
    """Check ``model`` with the engine ``options.engine`` names (see the module docstring)."""
    options = options or CheckOptions()
    if options.store == "fingerprints":  # the Python engine only (CheckOptions refuses others)
        from modelcheck.engines import fingerprint_search

        return fingerprint_search.check(model, options, progress)
    if options.resume is not None:
        engine = checkpoints.engine_of(options.resume)
        if engine.startswith("cluster") and options.ray is None:
            raise CheckpointError(
                f"the checkpoint in {options.resume} is a cluster search's; resume it with "
                "--ray (a local instance) or --ray ADDRESS"
            )
        if not engine.startswith("cluster") and options.ray is not None:
            # The run that wrote it went to one process (its note said why): so does this.
            options = attrs.evolve(options, ray=None, shards=None)
    if options.ray is not None:
        return _on_cluster(model, options, progress)
    if options.resume is not None:  # the engine that wrote the checkpoint goes on with it
        if engine == "python" or options.engine == "python":
            if engine != "python":
                raise CheckpointError(
                    f"the checkpoint in {options.resume} is the compiled engine's; resume it "
                    "with --engine compiled or auto"
                )
            return bfs.check(model, options, progress)
    elif options.engine == "python":
        return bfs.check(model, options, progress)
    live = [p.name for p in bfs.selected_properties(model, options.properties) if p.liveness]
    if live and options.resume is None:
        # The compiled engine does not check liveness (it would hand the whole
        # check back): go to the Python engine at once rather than after a
        # trial or an extraction, and say why when it matters.
        result = bfs.check(model, options, progress)
        if options.engine == "auto" and result.statistics.states <= TRIAL_STATES:
            return result  # auto would have stayed in Python anyway
        reason = (
            f"liveness properties ({', '.join(live)}) are checked by the Python engine's "
            "fair-cycle search only"
        )
        return attrs.evolve(result, engine_note=f"the compiled engine was not used: {reason}")
    if options.engine == "auto" and options.resume is None:
        budget = (
            TRIAL_STATES if options.max_states is None else min(TRIAL_STATES, options.max_states)
        )
        # The trial writes no checkpoint: a run it does not finish starts again compiled.
        trial_options = attrs.evolve(options, max_states=budget, checkpoint=None)
        trial = bfs.check(model, trial_options, progress)
        if trial.stopped_by != "max_states" or budget == options.max_states:
            return trial
    reason = numba_missing()
    if reason is None:
        from modelcheck.engines.compiled import search  # imports numba
        from modelcheck.symbolic.program import NotCompilable

        try:
            return search.check(model, options, progress)
        except NotCompilable as exc:
            reason = str(exc)
    if options.resume is not None:
        raise CheckpointError(
            f"cannot resume the checkpoint in {options.resume}: the compiled engine that wrote "
            f"it cannot run here ({reason}); start the run again without --resume"
        )
    note = f"the compiled engine was not used: {reason}"
    result = bfs.check(model, options, progress)
    return attrs.evolve(result, engine_note=note)


def _on_cluster(
    model: Model, options: CheckOptions, progress: ProgressCallback | None
) -> CheckResult:
    """The cluster search on Ray (its shards run the compiled kernel, or the spec's Python
    code); the Python engine in one process, with a note, where it cannot run."""
    from modelcheck.engines.cluster import Refused, ray_missing

    missing = ray_missing()
    if missing is not None:
        raise ModelcheckError(f"--ray: {missing}; or run without --ray on this machine.")
    from modelcheck.engines.cluster import search
    from modelcheck.symbolic.program import NotCompilable

    try:
        return search.check(model, options, progress, options.shards, options.ray)
    except (Refused, NotCompilable) as exc:
        reason = str(exc)
    if options.resume is not None:
        raise CheckpointError(
            f"cannot resume the cluster search's checkpoint in {options.resume}: the cluster "
            f"search cannot run here ({reason}); start the run again without resuming"
        )
    # One process, with the engine the options ask for (--symmetry, say, runs compiled).
    result = check(model, attrs.evolve(options, ray=None, shards=None), progress)
    note = f"the cluster search was not used ({reason}): one process ran it"
    if result.engine_note:
        note += f"; {result.engine_note}"
    return attrs.evolve(result, engine_note=note)
