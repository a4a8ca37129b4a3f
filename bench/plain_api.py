"""The baseline API for P5 and P9: a plain Starlette endpoint that returns a partner's row
as JSON, from the same read model, served by uvicorn exactly as `partnerbook serve` is
(same loop, HTTP parser and log level; one process; psycopg's async pool).

    PARTNERBOOK_DATABASE_URL=... python -m bench.plain_api --port 8801
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import uvicorn
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from app.infra.database import Database

COLUMNS = {
    "id": "id",
    "name": "name",
    "displayName": "display_name",
    "email": "email",
    "phone": "phone",
    "vat": "effective_vat",
    "ref": "ref",
    "isCustomer": "is_customer",
    "isSupplier": "is_supplier",
    "archived": "archived",
    "version": "version",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "street": "street",
    "city": "city",
    "zip": "zip",
}
"""Response key -> column: the same fields P5's GraphQL query asks for."""
SELECT = f"SELECT {', '.join(COLUMNS.values())} FROM partners WHERE id = %s"


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def create_app() -> Starlette:
    url = os.environ["PARTNERBOOK_DATABASE_URL"]
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        Database.from_url(url).conninfo(),
        min_size=1,
        max_size=8,
        open=False,
        kwargs={"autocommit": True},
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await pool.open(wait=True, timeout=10)
        try:
            yield
        finally:
            await pool.close()

    async def healthz(_: Request) -> JSONResponse:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
        return JSONResponse({"status": "ok"})

    async def partner(request: Request) -> JSONResponse:
        try:
            ident = UUID(request.path_params["id"])
        except ValueError:
            return JSONResponse({"error": "bad id"}, status_code=400)
        async with pool.connection() as conn:
            cur = await conn.execute(SELECT, (ident,))
            row = await cur.fetchone()
        if row is None:
            return JSONResponse({"data": {"partner": None}})
        fields = {key: _jsonable(value) for key, value in zip(COLUMNS, row, strict=True)}
        return JSONResponse({"data": {"partner": fields}})

    return Starlette(
        routes=[Route("/healthz", healthz), Route("/partner/{id}", partner)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8801)
    args = parser.parse_args()
    uvicorn.run(
        "bench.plain_api:create_app",
        factory=True,
        host="127.0.0.1",
        port=args.port,
        log_level="info",
        lifespan="on",
    )


if __name__ == "__main__":
    main()
