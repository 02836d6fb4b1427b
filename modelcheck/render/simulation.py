"""Plain-text rendering of a :class:`~modelcheck.engines.simulate.SimulationResult`."""

from __future__ import annotations

from modelcheck.engines.simulate import SimulationResult
from modelcheck.render.text import render_trace
from modelcheck.result import Status
from modelcheck.wording import n_steps, plural


def render_simulation_summary(result: SimulationResult) -> str:
    """Runs, steps, distinct states, fires per family and one line per property."""
    opts = result.options
    params = ", ".join(f"{k}={v!r}" for k, v in result.parameters.items())
    if result.distinct_states is None:
        states = "distinct states not tracked"
    elif result.distinct_states_capped:
        states = f"at least {result.distinct_states:,} distinct states (counting stopped there)"
    else:
        states = f"{result.distinct_states:,} distinct states"
    stopped = "" if result.stopped_by is None else f" (stopped early by {result.stopped_by})"
    lines = [
        f"{result.spec}({params})",
        f"simulated {result.runs} of {plural(opts.runs, 'run')} of up to "
        f"{n_steps(opts.depth)}, seed {opts.seed}: {n_steps(result.steps)}, {states}, "
        f"{plural(result.terminal_runs, 'run')} ended in a terminal state, in "
        f"{result.seconds:.2f} s"
        f"{stopped}",
        "fired: " + ", ".join(f"{family}={count:,}" for family, count in result.fired),
        "",
    ]
    how = {ce.trace.violates: ce for ce in result.counterexamples}
    w_name = max([len("property"), *(len(v.property) for v in result.verdicts)])
    w_kind = max([len("kind"), *(len(v.kind) for v in result.verdicts)])
    lines.append(f"  {'property'.ljust(w_name)}  {'kind'.ljust(w_kind)}  verdict")
    for v in result.verdicts:
        if v.status is Status.VIOLATED:
            ce = how[v.property]
            cell = (
                f"VIOLATED  ({n_steps(len(ce.trace))}, {ce.status_text}; the run that found it "
                f"had {ce.found_steps})"
            )
        else:
            cell = v.reason
        lines.append(f"  {v.property.ljust(w_name)}  {v.kind.ljust(w_kind)}  {cell}")
    return "\n".join(lines)


def simulation_summary_line(result: SimulationResult) -> str:
    """One stable ``key=value`` line for scripts."""
    outcome = {0: "not-violated", 1: "violated", 3: "incomplete"}[int(result.exit_code)]
    violated = ",".join(v.property for v in result.violated) or "-"
    states = "-" if result.distinct_states is None else str(result.distinct_states)
    if result.distinct_states_capped:
        states += "+"
    return (
        f"result={outcome} runs={result.runs} steps={result.steps} states={states} "
        f"violated={violated} seed={result.options.seed} seconds={result.seconds:.3f}"
    )


def render_simulation(result: SimulationResult, traces: bool = True, width: int = 100) -> str:
    """Summary, each counterexample (saying whether it is proven shortest), the summary line."""
    parts = [render_simulation_summary(result)]
    if traces:
        for ce in result.counterexamples:
            parts.append(f"{render_trace(ce.trace, width)}\n  ({ce.how})")
        for v in result.verdicts:
            if v.witness is not None:
                parts.append(render_trace(v.witness, width))
    parts.append(simulation_summary_line(result))
    return "\n\n".join(parts)
