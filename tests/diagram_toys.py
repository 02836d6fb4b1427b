"""A tiny two-writer spec for the diagram, graph and report tests.

Two workers each ``grab`` (idle -> busy) and then ``write`` their number plus
one into a shared cell (busy -> done).  By hand: while nobody is done the
cell is 0 (4 states: each worker idle or busy); with one worker done the cell
holds its value (4 states); with both done it holds the last writer's (2
states): 10 states.  Transitions: 2 from each of the first 4, 1 from each of
the next 4, none from the last 2 (terminal): 12.  ``cell_not_two`` fails in
the 3 states where worker 1 wrote last, first after grab(w=1), write(w=1).
"""

from __future__ import annotations

from typing import ClassVar

from modelcheck import Spec, State, action, invariant

IDLE, BUSY, DONE = "idle", "busy", "done"


class Cell(State):
    cell: int
    pc: tuple[str, ...]


class TwoWriters(Spec):
    """Two workers write to one shared cell."""

    workers: int = 2
    components: ClassVar[dict[str, str]] = {"cell": "Shared cell", "pc": "Worker {}"}

    def initial_states(self) -> Cell:
        return Cell(0, (IDLE,) * self.workers)

    @action(w="workers", actor=lambda w: f"Worker {w}")
    def grab(self, s: Cell, w: int) -> Cell | None:
        if s.pc[w] != IDLE:
            return None
        return s.replace(pc=(*s.pc[:w], BUSY, *s.pc[w + 1 :]))

    @action(w="workers", actor=lambda w: f"Worker {w}")
    def write(self, s: Cell, w: int) -> Cell | None:
        if s.pc[w] != BUSY:
            return None
        return Cell(w + 1, (*s.pc[:w], DONE, *s.pc[w + 1 :]))

    @invariant
    def cell_not_two(self, s: Cell) -> bool:
        """Worker 1's value never lands in the cell."""
        return s.cell != 2


class TwoWritersUndeclared(TwoWriters):
    """The same spec with no components declaration (the defaults apply)."""

    components: ClassVar[dict[str, str]] = {}


class Labelled(State):
    note: str
    shared: tuple[int, ...]


class LongLabels(Spec):
    """Steps whose labels are far longer than the room between two lifelines.

    ``write`` puts a 150-character note (a component of its own), and each
    ``put`` writes a long number into one cell of ``shared``.
    """

    components: ClassVar[dict[str, str]] = {"shared": "Store {}"}

    def initial_states(self) -> Labelled:
        return Labelled("", (0, 0, 0))

    @action(actor="Writer")
    def write(self, s: Labelled) -> Labelled | None:
        if s.note:
            return None
        return s.replace(note="a very long note value that keeps going and going " * 3)

    @action(i=range(3), actor="Writer")
    def put(self, s: Labelled, i: int) -> Labelled | None:
        if not s.note or s.shared[i]:
            return None
        return s.replace(shared=(*s.shared[:i], 123456789012345, *s.shared[i + 1 :]))

    @invariant
    def some_cell_empty(self, s: Labelled) -> bool:
        return 0 in s.shared
