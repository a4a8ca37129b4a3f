"""Catches the registry projection up from where its tracking table says, in small
batches, then exits 0. A fault test SIGKILLs it at random moments and starts it again.

Usage: python -m tests.fault_tools.run_projector DATABASE_URL [PREFIX] [BATCH_SIZE]"""

from __future__ import annotations

import sys

from app.application import Partnerbook
from app.database import Database
from app.projections.projector import Projector, RegistryProjection, construct_view


def main(url: str, prefix: str = "", batch_size: int = 50) -> None:
    db = Database.from_url(url)
    app = Partnerbook(env=db.eventsourcing_env(2, 5))
    view = construct_view(db.eventsourcing_env(2, 5), prefix=prefix)
    projector = Projector(app, RegistryProjection(view), db, batch_size=batch_size)
    projector.catch_up()
    print(projector.position, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], *(sys.argv[2:3]), *(int(a) for a in sys.argv[3:4]))
