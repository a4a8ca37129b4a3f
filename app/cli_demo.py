"""`partnerbook demo`: fills the registry with demo data and projects it."""

from __future__ import annotations

import threading
import time

import typer
from eventsourcing.persistence import IntegrityError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from app.demo import AlreadyLoaded, DemoStats, load_demo
from app.infra import database
from app.main import open_application
from app.projections.projector import Projector, RegistryProjection, construct_view
from app.settings import Settings


def demo(
    partners: int = typer.Option(
        10_000, min=1, max=1_000_000, help="About how many partners to create."
    ),
    seed: int = typer.Option(1, help="Same seed, same data; a seed loads only once."),
) -> None:
    """Fills the registry with demo partners (companies with contacts and addresses,
    individuals, tags, terms, activities, documents, opportunities), then projects them
    so they show in GraphiQL. Uses the same database as `partnerbook serve`."""
    settings = Settings()
    console = Console(stderr=True)
    try:
        db = database.resolve(settings.database_url, settings.data_dir)
        database.prepare(db, settings.connect_timeout)
    except database.DatabaseUnavailable as error:
        typer.echo(f"partnerbook: {error}", err=True)
        raise typer.Exit(code=1) from None
    started = time.perf_counter()
    app = open_application(db, settings)
    view = construct_view(db.eventsourcing_env(2, settings.connect_timeout))
    projector = Projector(
        app, RegistryProjection(view), db, batch_size=settings.projection_batch_size
    )
    # The projector runs while the data is written: here, or in a running `serve`,
    # whichever holds the advisory lock.
    stop = threading.Event()
    thread = threading.Thread(target=projector.run, args=(stop,), name="projector", daemon=True)
    thread.start()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            writing = progress.add_task("partners", total=partners, rate="")

            def show(stats: DemoStats) -> None:
                elapsed = time.perf_counter() - started
                progress.update(
                    writing,
                    completed=min(stats.partners, partners),
                    rate=f"{stats.aggregates / elapsed:,.0f} records/s",
                )

            try:
                stats = load_demo(app, partners, seed=seed, progress=show)
            except AlreadyLoaded as error:
                typer.echo(f"partnerbook: {error}", err=True)
                raise typer.Exit(code=1) from None
            except IntegrityError:
                typer.echo(
                    f"partnerbook: part of the demo data of seed {seed} is already in this "
                    "registry: pass another --seed",
                    err=True,
                )
                raise typer.Exit(code=1) from None
            progress.update(writing, completed=partners)
            written = time.perf_counter() - started
            projecting = progress.add_task("projected events", total=stats.position, rate="")
            while (position := projector.position) < stats.position:
                progress.update(projecting, completed=position)
                time.sleep(0.2)
            progress.update(projecting, completed=stats.position)
    finally:
        stop.set()
        thread.join(10)
        app.close()
        view.datastore.close()
    total = time.perf_counter() - started
    console.print(
        f"{stats.partners:,} partners ({stats.companies:,} companies, {stats.children:,} "
        f"contacts and addresses, {stats.individuals:,} individuals), {stats.activities:,} "
        f"activities, {stats.documents:,} documents, {stats.opportunities:,} opportunities: "
        f"{stats.aggregates:,} records in {stats.saves:,} transactions, written in "
        f"{written:.1f} s, projected and browsable after {total:.1f} s."
    )
    console.print(
        f"Run `partnerbook serve` and open http://{settings.host}:{settings.port}/graphql"
    )
