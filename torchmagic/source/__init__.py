"""Reading a cell's code.

- :mod:`.cellcode`: the questions error matchers ask (statements by line, assignments, loops,
  in-place ops);
- :mod:`.cell`: the model that lint rules question (bindings, scopes, what names are in the live
  namespace), with its training questions in :mod:`.training` and its autograd data flow in
  :mod:`.gradflow`;
- :mod:`.syntax` and :mod:`.values`: small questions about a syntax node and about a live
  object that both use.
"""
