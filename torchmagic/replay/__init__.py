"""Running a cell again: the pre-run snapshot of what it reads, the CPU-fallback rerun, and
the isolation that keeps a replay from touching the user's objects, files and processes."""
