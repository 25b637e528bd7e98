"""Running the user's code: statement by statement as IPython does, under guards that take
every global change back, with fault injection to prove the user's run survives ours."""
