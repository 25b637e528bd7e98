"""Diagnosing a run: the engine that runs a cell and turns what failed into a `Diagnosis`,
where in the user's code it happened, the silent findings, and the notes a report carries."""
