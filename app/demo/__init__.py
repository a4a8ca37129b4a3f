"""Demo data: a living registry in a minute (`partnerbook demo`).

Companies with their contacts and invoice/delivery addresses, individuals, a tag tree
("Region / EMEA"…), the catalogs with commercial terms set on the companies, and the
360° view around them: activities (some overdue), quotations, orders, invoices (some
partly paid), tickets and opportunities.

Names, streets, cities and phones come from Faker in each country's own locale. Faker
makes small pools once; records combine pool entries at random (Faker per record would
take most of the time). Tags and catalog entries are created through the application's
commands, with idempotency keys, so a second run reuses them. Partners and their records
are built as aggregates (`Partner.register`, `Activity.schedule`…, the very methods the
commands call once their reference checks pass: every reference here is known to exist)
and saved many per `app.save(...)`, at most MAX_PER_SAVE new aggregates per transaction
(docs/scaling.md: larger saves can hang the psycopg pipeline).

Ids are drawn from the seed, so one seed gives the same registry every time, and
loading a seed twice is refused before anything is written.
"""

from app.demo.loading import (
    MAX_PER_SAVE,
    AlreadyLoaded,
    DemoStats,
    first_partner_id,
    load_demo,
)

__all__ = ["MAX_PER_SAVE", "AlreadyLoaded", "DemoStats", "first_partner_id", "load_demo"]
