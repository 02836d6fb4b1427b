"""The SQLite-backed Planner, Enactors and clean-up (see the package docs)."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

MODES = ("incident", "fixed")

IDLE, APPLYING, CLEANING = "Idle", "Applying", "Cleaning"

_SCHEMA = """
CREATE TABLE plans   (generation INTEGER PRIMARY KEY);
CREATE TABLE records (endpoint INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
CREATE TABLE meta    (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode: every statement commits on its own unless we BEGIN a
    # transaction ourselves, so what is atomic is exactly what the code says.
    connection = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    # Durability across power loss is not what these tests are about.
    connection.execute("PRAGMA synchronous = OFF")
    return connection


class Planner:
    """Creates plans ``1, 2, 3, ...`` in the plan store."""

    def __init__(self, path: Path) -> None:
        self.connection = _connect(path)

    def create_plan(self) -> int:
        """Store the next plan and make it the latest; returns its generation."""
        db = self.connection
        db.execute("BEGIN IMMEDIATE")
        try:
            (latest,) = db.execute("SELECT value FROM meta WHERE key = 'latest'").fetchone()
            db.execute("INSERT INTO plans (generation) VALUES (?)", (latest + 1,))
            db.execute("UPDATE meta SET value = ? WHERE key = 'latest'", (latest + 1,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return latest + 1


class Enactor:
    """Applies the newest plan to the endpoints, one step per method call.

    Its progress (which plan it holds, the next endpoint) lives in the
    process, as in a real worker; the plan store and records live in SQLite,
    read and written through this Enactor's own connection.
    """

    def __init__(self, path: Path, ident: int, endpoints: int, keep: int, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.connection = _connect(path)
        self.ident = ident
        self.endpoints = endpoints
        self.keep = keep
        self.mode = mode
        self.status = IDLE
        self.plan = 0
        self.next = 0

    def _value(self, key: str) -> int:
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0])

    def pick_up(self) -> bool:
        """Take the newest plan if it is newer than the active one; True if taken."""
        if self.status != IDLE:
            raise RuntimeError(f"Enactor {self.ident} is {self.status}, cannot pick up")
        db = self.connection
        applied, latest = self._value("applied"), self._value("latest")
        active_exists = db.execute(
            "SELECT 1 FROM plans WHERE generation = ?", (applied,)
        ).fetchone()
        # The staleness check happens here, once; in the incident that was the bug.
        if active_exists is None or latest <= applied:
            return False
        self.status, self.plan, self.next = APPLYING, latest, 0
        return True

    def write_endpoint(self) -> None:
        """Point the next endpoint's record at this Enactor's plan."""
        if self.status != APPLYING or self.next >= self.endpoints:
            raise RuntimeError(f"Enactor {self.ident} has no endpoint left to write")
        db = self.connection
        if self.mode == "incident":
            db.execute(
                "UPDATE records SET generation = ? WHERE endpoint = ?", (self.plan, self.next)
            )
        else:
            # Checked at the time of use: only ever move a record forward.
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE records SET generation = ? WHERE endpoint = ? AND generation < ?",
                (self.plan, self.next, self.plan),
            )
            db.execute("COMMIT")
        self.next += 1

    def finish(self) -> None:
        """Record this Enactor's plan as the active one."""
        if self.status != APPLYING or self.next != self.endpoints:
            raise RuntimeError(f"Enactor {self.ident} has not written every endpoint")
        db = self.connection
        if self.mode == "incident":
            db.execute("UPDATE meta SET value = ? WHERE key = 'applied'", (self.plan,))
        else:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'applied' AND value < ?",
                (self.plan, self.plan),
            )
            db.execute("COMMIT")
        self.status = CLEANING

    def clean_up(self) -> None:
        """Delete plans older than this Enactor's plan by more than ``keep``."""
        if self.status != CLEANING:
            raise RuntimeError(f"Enactor {self.ident} has nothing to clean up")
        db = self.connection
        limit = self.plan - self.keep
        if self.mode == "incident":
            db.execute("DELETE FROM plans WHERE generation < ?", (limit,))
        else:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "DELETE FROM plans WHERE generation < ?"
                " AND generation NOT IN (SELECT generation FROM records)"
                " AND generation <> (SELECT value FROM meta WHERE key = 'applied')",
                (limit,),
            )
            db.execute("COMMIT")
        self.status, self.plan, self.next = IDLE, 0, 0

    def close(self) -> None:
        """Close this Enactor's connection."""
        self.connection.close()


class DnsPlanSystem:
    """A database file, a Planner and ``enactors`` Enactors, each with its own connection.

    Starts with plan 1 stored, active and in every record.  ``directory``
    defaults to a new temporary folder, removed again by :meth:`close`.
    """

    def __init__(
        self,
        *,
        enactors: int = 2,
        endpoints: int = 2,
        keep: int = 1,
        mode: str = "incident",
        directory: str | Path | None = None,
    ) -> None:
        self._owned = directory is None
        self.directory = Path(
            tempfile.mkdtemp(prefix="dnsplan-") if directory is None else directory
        )
        self.path = self.directory / "dnsplan.sqlite3"
        self.mode = mode
        self.endpoints = endpoints
        setup = _connect(self.path)
        setup.executescript(_SCHEMA)
        setup.execute("INSERT INTO plans VALUES (1)")
        setup.executemany("INSERT INTO records VALUES (?, 1)", [(m,) for m in range(endpoints)])
        setup.executemany("INSERT INTO meta VALUES (?, ?)", [("latest", 1), ("applied", 1)])
        self._observer = setup
        self.planner = Planner(self.path)
        self.enactors = [Enactor(self.path, e, endpoints, keep, mode) for e in range(enactors)]

    def snapshot(self) -> dict[str, Any]:
        """Everything a test may compare with the model: the database and each Enactor."""
        db = self._observer
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        records = dict(db.execute("SELECT endpoint, generation FROM records").fetchall())
        return {
            "latest": meta["latest"],
            "store": frozenset(g for (g,) in db.execute("SELECT generation FROM plans")),
            "applied": meta["applied"],
            "dns": tuple(records[m] for m in range(self.endpoints)),
            "pc": tuple(e.status for e in self.enactors),
            "plan": tuple(e.plan for e in self.enactors),
            "next": tuple(e.next for e in self.enactors),
        }

    def close(self) -> None:
        """Close every connection and delete the folder if this system created it."""
        for enactor in self.enactors:
            enactor.close()
        self.planner.connection.close()
        self._observer.close()
        if self._owned:
            shutil.rmtree(self.directory, ignore_errors=True)
