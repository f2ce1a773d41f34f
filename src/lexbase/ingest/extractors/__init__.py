"""One module per file kind; `lexbase.ingest.extract.extract` picks the right one."""
