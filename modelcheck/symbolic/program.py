"""A spec's behaviour as data: what path extraction gives the compiled engine.

The z3 engine runs every action and property of a spec in the symbolic
subset on symbolic values, once per feasible path (see
:mod:`modelcheck.symbolic`).  :func:`modelcheck.engines.z3.extract.extract`
records what those runs found as a :class:`Program`, in plain Python values
that carry nothing of z3:

* the state's *leaves*: every bool, int, bit mask or enum constant of the
  state, in field order (a tuple field has one leaf per position);
* one shared table of expression *nodes* over the leaves before a step
  (``pre``) and after it (``post``), with the semantics of ``W``-bit two's
  complement bit-vectors (z3's); a node is ``(op, width, *operands)``,
  width 0 for a bool, operands being node numbers (or, for a few ops, plain
  ints such as the bit positions of ``extract``);
* per action instance, a decision *tree*: the conditions on which its runs
  split, and at each end the successors that run returned (one node per
  leaf of each);
* per property, a tree whose ends give its bool result;
* the *inexact* conditions: where an operation's ``W``-bit value may differ
  from Python's, the condition (over ``pre``) under which it does.  An
  engine that evaluates the nodes must check them on every state it expands.

Node operators: ``pre``/``post`` (leaf number), ``const`` (value),
``not and or xor implies ite eq distinct``, ``add sub mul neg band bor bxor
bnot shl lshr ashr``, ``slt sle sgt sge ult ule ugt uge``, ``sdiv udiv srem
urem smod``, ``extract`` (high, low, node), ``concat``, ``zext`` and
``sext`` (bits, node).
"""

from __future__ import annotations

from typing import Any

import attrs

from modelcheck.symbolic import SubsetError


class NotCompilable(SubsetError):
    """A model, or a run of one, that the compiled engine cannot do exactly; says why."""


#: ``(op, width, *operands)``; width 0 means bool.
Node = tuple[Any, ...]


@attrs.frozen
class Leaf:
    """One scalar of the state: its path in the state, its type, and its encoding."""

    #: ``"dns[0]"``, ``"votes['a']?"`` ...
    name: str
    #: A resolved :class:`~modelcheck.symbolic.BoolType`, ``IntType``,
    #: ``BitsType`` or ``EnumType``.
    ftype: Any
    #: For an enum leaf, the value its node takes for each declared value, in order.
    codes: tuple[int, ...] = ()


@attrs.frozen
class Branch:
    """Split on node ``cond``; ``None`` for a side no state of the declared types takes."""

    cond: int
    then: Tree | None
    otherwise: Tree | None


@attrs.frozen
class End:
    """The end of one path: for an action, a tuple of successors (each a tuple of
    one node per leaf); for a property, the node of its result."""

    value: Any


Tree = Branch | End


@attrs.frozen
class Inexact:
    """An operation whose ``W``-bit value is not Python's when node ``when`` holds."""

    what: str
    op: str
    where: str
    when: int


@attrs.frozen
class Program:
    """What the actions and properties of one model do, for every state of the declared types."""

    width: int
    leaves: tuple[Leaf, ...]
    nodes: tuple[Node, ...]
    #: ``(action index, tree)`` in declaration order.
    actions: tuple[tuple[int, Tree], ...]
    #: Property name -> tree of its result.
    properties: dict[str, Tree]
    #: Checked on every expanded state: the actions' operations.
    inexact: tuple[Inexact, ...]
    #: Property name -> its own operations' conditions (over ``pre``, and ``post``
    #: for an action property).
    property_inexact: dict[str, tuple[Inexact, ...]]
