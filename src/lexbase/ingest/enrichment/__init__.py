"""The parts of `lexbase.ingest.enrich`: citations, courts, caption, dates and document type.

Each module is pure and works on plain text; `lexbase.ingest.enrich.enrich` composes them.
"""
