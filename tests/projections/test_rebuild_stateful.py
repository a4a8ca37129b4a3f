"""Rebuild equals incremental, row for row: hypothesis drives random application commands
(projected incrementally at random moments), then `rebuild()` replays the log into fresh
tables and swaps them in; every table must hold exactly what it held before."""

from __future__ import annotations

import contextlib
import random
import uuid
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from app.application import Partnerbook
from app.domain.errors import DomainError
from app.infra import database
from app.infra.database import Database
from app.projections.projector import Projector, construct_projection
from app.projections.rebuild import rebuild
from tests.projections.test_partners_projection import RandomHistory, table_rows


class RegistryMachine(RuleBasedStateMachine):
    server: Database

    def __init__(self) -> None:
        super().__init__()
        self.name = f"pb_hyp_{uuid.uuid4().hex[:12]}"
        self.db = database.create_database(self.server, self.name)
        database.prepare(self.db, 5)
        self.env = self.db.eventsourcing_env(2, 5)
        self.app = Partnerbook(env=self.env)
        self.projectors = [
            Projector(self.app, construct_projection(self.env, name), self.db, batch_size=5)
            for name in ("registry", "audit")
        ]
        self.history = RandomHistory(self.app, 0)
        self.n = 0

    @rule(choice=st.integers(0, 2**32))
    def command(self, choice: int) -> None:
        self.history.rng = random.Random(choice)
        self.n += 1
        with contextlib.suppress(DomainError):  # refused commands are history too
            self.history.step(self.n)

    @rule(choice=st.integers(0, 2**32), count=st.integers(2, 8))
    def burst(self, choice: int, count: int) -> None:
        """Several commands between two projections (batches with mixed events)."""
        for i in range(count):
            self.command(choice + i)

    @precondition(lambda self: self.n > 0)
    @rule()
    def project(self) -> None:
        for projector in self.projectors:
            projector.catch_up()

    def teardown(self) -> None:
        try:
            for projector in self.projectors:
                projector.catch_up()
            for projector in self.projectors:
                view: Any = projector.projection.view
                names = [*view.table_names]
                before = {t: table_rows(self.db, t) for t in names}
                rebuild(self.app, self.db, self.env, projector.projection.name, batch_size=11)
                for table in names:
                    assert table_rows(self.db, table) == before[table], table
                # the live projector carries on over the swapped-in tables
                assert projector.catch_up() == 0
        finally:
            for projector in self.projectors:
                projector.projection.view.datastore.close()
            self.app.close()
            database.drop_database(self.server, self.name)


def test_rebuild_equals_incremental_for_random_command_sequences(server: Database) -> None:
    RegistryMachine.server = server
    run_state_machine_as_test(
        RegistryMachine,
        settings=settings(
            max_examples=10,
            stateful_step_count=60,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
