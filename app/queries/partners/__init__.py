"""Queries over the `partners` read model, one module per kind of read: look-ups by id
(`lookups.py`), filtered and ordered keyset pages (`pages.py`), counts and facets
(`counts.py`), composed as one `PartnerDirectory` (`directory.py`)."""
