"""The pitfall families, each as a pair of files: `<family>.toml` holds the family's entries
(patterns, explanations in English and Chinese, examples) and `<family>.py` its rules — the
error matchers that recognise a failure and find the line to change, and the lint rules, audit
checks and run checks of its silent pitfalls. A large family's rules are a `<family>/` package,
one module per kind of rule. :mod:`.registry` collects and ranks them."""
