"""Everything run from the command line: the `lexbase` CLI, bulk import with its progress
reporting, and the evaluation harness. The only package that imports the app."""
