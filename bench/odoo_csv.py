"""Generates a contacts file in the layout of an Odoo export ("import-compatible"), and
measures `partnerbook import partners` on it.

    python -m bench.odoo_csv FILE.csv --rows 50000            # write the file
    python -m bench.odoo_csv FILE.csv --rows 50000 --measure  # and time two imports

One company in four rows, the others its contacts (some listed before their company);
countries as `base.xx` (`base.uk` for GB); tags, some hierarchical; a column Odoo
modules add (`x_studio_note`) that the import ignores."""

from __future__ import annotations

import argparse
import csv
import os
import random
import time
from pathlib import Path

from app.queries.exports import EXPORT_COLUMNS

COLUMNS = [*EXPORT_COLUMNS, "x_studio_note"]
"""The export's layout (what the import reads), plus a column Odoo Studio added, which
the import reports and ignores."""
COUNTRIES = [
    ("BE", "base.be", "Belgium", "+32 2 5## ## ##", "fr_BE"),
    ("FR", "base.fr", "France", "+33 1 4# ## ## ##", "fr_FR"),
    ("GB", "base.uk", "United Kingdom", "+44 20 7### ####", "en_GB"),
    ("US", "base.us", "United States", "+1 212 6## ####", "en_US"),
    ("DE", "base.de", "Germany", "+49 30 ########", "de_DE"),
]
US_STATES = ["California (US)", "New York (US)", "Texas (US)"]
TAGS = ["VIP", "Prospect", "Region / EMEA", "Region / Americas", "Newsletter"]
INDUSTRIES = ["Manufacturing", "Retail", "Services", "Construction"]
SALESPEOPLE = ["Marc Demo", "Mitchell Admin", "Joel Willis"]
FIRST = ["Anna", "Ben", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Inès", "Jan"]
LAST = ["Peeters", "Martin", "Smith", "Müller", "Janssens", "Dubois", "Brown", "Weber"]
WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne"]


def _phone(rng: random.Random, pattern: str) -> str:
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in pattern)


def _be_vat(number: int) -> str:
    base = 1_000_000 + number % 8_999_999
    return f"BE0{base:07d}{97 - base % 97:02d}"


def rows(count: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out: list[dict[str, str]] = []
    company = 0
    while len(out) < count:
        company += 1
        code, xid, _name, phone, lang = COUNTRIES[company % len(COUNTRIES)]
        city = rng.choice(["Brussels", "Paris", "London", "New York", "Berlin"])
        street = f"{rng.randrange(1, 300)} {rng.choice(WORDS)} Street"
        zip_code = f"{rng.randrange(1000, 99999)}"
        name = f"{rng.choice(WORDS)} {rng.choice(['NV', 'SA', 'Ltd', 'Inc', 'GmbH'])} {company}"
        cid = f"__export__.res_partner_c{company}"
        comp = {
            "id": cid,
            "name": name,
            "is_company": "True",
            "parent_id/id": "",
            "type": "contact",
            "street": street,
            "zip": zip_code,
            "city": city,
            "state_id": rng.choice(US_STATES) if code == "US" else "",
            "country_id/id": xid,
            "phone": _phone(rng, phone),
            "email": f"info@company{company}.example.com",
            "website": f"https://company{company}.example.com",
            "vat": _be_vat(company) if code == "BE" else "",
            "ref": f"C{company:06d}",
            "lang": lang,
            "comment": "Imported from Odoo" if company % 7 == 0 else "",
            "category_id": ",".join(rng.sample(TAGS, rng.randrange(0, 3))),
            "user_id": rng.choice(SALESPEOPLE),
            "industry_id": rng.choice(INDUSTRIES),
            "customer_rank": str(rng.randrange(0, 3)),
            "supplier_rank": str(rng.randrange(0, 2)),
            "active": "True",
            "x_studio_note": "custom",
        }
        contacts = []
        for n in range(min(3, count - len(out) - 1)):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            contacts.append(
                {
                    "id": f"__export__.res_partner_p{company}_{n}",
                    "name": f"{first} {last}",
                    "is_company": "False",
                    "parent_id/id": cid,
                    "type": "contact" if n else "invoice",
                    "function": rng.choice(["CEO", "Buyer", "Accountant", ""]),
                    # Odoo copies the company's address and VAT onto its contacts.
                    "street": street,
                    "zip": zip_code,
                    "city": city,
                    "state_id": comp["state_id"],
                    "country_id/id": comp["country_id/id"],
                    "phone": _phone(rng, phone),
                    "mobile": "ask reception, ext. 12" if (company + n) % 40 == 0 else "",
                    "email": f"{first.lower()}.{last.lower()}.{company}.{n}@example.com",
                    "vat": comp["vat"],
                    "lang": lang,
                    "category_id": rng.choice(["", "VIP", "Newsletter"]),
                    "customer_rank": "0",
                    "supplier_rank": "0",
                    "active": "True",
                }
            )
        # Every fifth company comes after its contacts: parents defined later.
        group = [*contacts, comp] if company % 5 == 0 else [comp, *contacts]
        out += group
    return out[:count]


def write(path: Path, count: int, seed: int = 7) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows(count, seed))


def _children_cpu() -> float:
    """CPU seconds of the worker processes that have ended (the import's pool)."""
    times = os.times()
    return times.children_user + times.children_system


def measure(path: Path, workers: int) -> None:
    """Imports the file twice in this process: wall-clock and CPU seconds of the import
    itself (read, plan, save), then of the projection catching up with it."""
    import asyncio
    import uuid

    from app.cli_data import _lookups, catch_up, read_csv, registry
    from app.domain.audited import Audit
    from app.settings import Settings

    with registry(Settings()) as (db, app, projector):
        for attempt in ("first import", "second import (re-run)"):
            wall, cpu, workers_cpu = time.perf_counter(), time.process_time(), _children_cpu()
            _, rows = read_csv(path)
            lookups = asyncio.run(_lookups(db, rows))
            audit = Audit(actor="bench", request_id=uuid.uuid4().hex)
            report = app.import_partners(rows, lookups, audit, workers=workers)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            workers_cpu = _children_cpu() - workers_cpu
            print(
                f"{attempt}: {len(rows)} rows in {wall:.1f} s ({len(rows) / wall:,.0f} rows/s; "
                f"{cpu:.1f} CPU s + {workers_cpu:.1f} in workers, "
                f"{len(rows) / (cpu + workers_cpu):,.0f} rows per CPU s): "
                f"{report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged, {len(report.rejected)} rejected"
            )
            wall = time.perf_counter()
            catch_up(projector)
            print(f"  projection caught up in {time.perf_counter() - wall:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--measure", action="store_true", help="import it twice, timed")
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 2) - 1),
        help="as the CLI's --workers",
    )
    args = parser.parse_args()
    write(args.file, args.rows)
    print(f"wrote {args.rows} rows to {args.file}")
    if args.measure:
        measure(args.file, args.workers)


if __name__ == "__main__":
    main()
