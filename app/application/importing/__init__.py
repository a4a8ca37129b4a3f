"""Importing partners from the column layout of an Odoo contacts export (issue 10): the
command of `Partnerbook` (`command.py`) and its parts, in the order a run uses them:
what it compares with (`known.py`, read by `lookups.py`), which partner each row is and
in which order rows go (`planning.py`), the tags and catalog entries rows name
(`references.py`), rows turned into events (`applying.py`), saves in batches
(`saving.py`), the outcome of each row (`report.py`), and big files' emails and phones
checked ahead in worker processes (`check_ahead.py`). The `importPartners` use case that
calls it is `app/application/import_partners.py`."""
