"""Reading a cell's code: :mod:`.cellcode` for the questions error matchers ask (statements by
line, assignments, loops, in-place ops), :mod:`.cell` for the model that lint rules question
(bindings, scopes, what names are in the live namespace)."""
