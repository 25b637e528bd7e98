"""The engine on real cells: the failing line, the line to change, global state restored."""
from __future__ import annotations

import re
import sys
import warnings

import pytest
import torch

import torchmagic
from torchmagic.diagnose import engine
from torchmagic.diagnose.engine import Options, debug_cell


def run(shell, cell: str, **opts):
    return debug_cell(shell, cell, Options(**opts))


def test_success_returns_ok_and_no_exception(shell):
    out = run(shell, "import torch\nx = torch.ones(3)\ny = x * 2\n")
    assert out.exception is None
    assert out.diagnosis.ok and out.diagnosis.error is None
    assert shell.user_ns["y"].tolist() == [2.0, 2.0, 2.0]


def test_error_keeps_the_users_exception_and_points_at_the_cell_line(shell):
    cell = "import torch\na = torch.ones(2, 3)\nb = torch.ones(4, 5)\nc = a @ b\n"
    out = run(shell, cell)
    assert isinstance(out.exception, RuntimeError)
    d = out.diagnosis
    assert d.ok is False and d.error.type == "RuntimeError"
    assert d.line == 4
    assert "shape-mismatch" in d.pitfalls


def test_error_inside_a_cell_function_points_into_the_function(shell):
    cell = (
        "import torch\n"
        "def f(t):\n"
        "    return t.view(-1, 7)\n"
        "f(torch.ones(10))\n"
    )
    d = run(shell, cell).diagnosis
    assert d.line == 3
    assert d.related_lines == [] or 4 not in d.related_lines or d.line == 3


def test_inplace_error_points_at_the_inplace_op_not_backward(shell):
    cell = (
        "import torch\n"
        "x = torch.randn(5, requires_grad=True)\n"
        "y = torch.sigmoid(x)\n"
        "y.mul_(2)\n"
        "y.sum().backward()\n"
    )
    d = run(shell, cell).diagnosis
    assert d.pitfalls[0] == "inplace-autograd"
    assert d.line == 4
    assert 3 in d.related_lines


def test_inplace_error_without_anomaly_still_finds_the_op(shell):
    cell = (
        "import torch\n"
        "x = torch.randn(5, requires_grad=True)\n"
        "y = x.exp()\n"
        "y[0] = 0\n"
        "y.sum().backward()\n"
    )
    d = run(shell, cell, anomaly=False).diagnosis
    assert d.pitfalls[0] == "inplace-autograd"
    assert d.line == 4


def test_nan_in_backward_points_at_the_forward_op(shell):
    cell = (
        "import torch\n"
        "x = torch.zeros(3, requires_grad=True)\n"
        "y = x.sqrt()\n"
        "z = (y * 0).sum()\n"
        "z.backward()\n"
    )
    d = run(shell, cell).diagnosis
    assert d.pitfalls[0] == "nan-in-backward"
    assert d.line == 3


def test_global_state_is_restored_after_success_and_failure(shell):
    filters = list(warnings.filters)
    show = warnings.showwarning
    assert not torch.is_anomaly_enabled()
    run(shell, "import torch\nx = torch.ones(1)\n")
    run(shell, "import torch\nraise ValueError('boom')\n")
    assert not torch.is_anomaly_enabled()
    assert warnings.filters == filters
    assert warnings.showwarning is show


def test_users_anomaly_setting_survives(shell):
    torch.autograd.set_detect_anomaly(True)
    try:
        run(shell, "x = 1\n")
        assert torch.is_anomaly_enabled()
    finally:
        torch.autograd.set_detect_anomaly(False)


def test_keyboard_interrupt_propagates_and_restores_state(shell):
    filters = list(warnings.filters)
    with pytest.raises(KeyboardInterrupt):
        run(shell, "raise KeyboardInterrupt\n")
    assert not torch.is_anomaly_enabled()
    assert warnings.filters == filters


def test_anomaly_forward_trace_is_not_printed(shell, capsys):
    cell = (
        "import torch\n"
        "x = torch.randn(4, requires_grad=True)\n"
        "y = x.sigmoid()\n"
        "y += 1\n"
        "y.sum().backward()\n"
    )
    run(shell, cell)
    captured = capsys.readouterr()
    assert "Traceback of forward call" not in captured.err + captured.out


def test_user_warnings_still_reach_the_user(shell):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        run(shell, "import warnings\nwarnings.warn('mine, from the cell')\n")
    assert any("mine, from the cell" in str(w.message) for w in seen)


def test_last_expression_is_displayed_like_a_normal_cell(shell, capsys):
    run(shell, "a = 20\na + 22\n")
    assert "42" in capsys.readouterr().out


def test_last_diagnosis_is_kept(shell):
    run(shell, "raise ValueError('x')\n")
    assert engine.last_diagnosis().error.type == "ValueError"


def test_to_dict_has_exactly_the_public_keys(shell):
    d = run(shell, "import torch\ntorch.ones(2).view(3)\n").diagnosis.to_dict()
    assert set(d) == {"ok", "error", "line", "related_lines", "cause", "pitfalls", "findings", "rerun"}
    assert d["ok"] is False and d["line"] == 2 and isinstance(d["pitfalls"], list) and d["cause"] is None


def test_tensors_on_the_failing_line_are_described(shell):
    cell = "import torch\nimport torch.nn as nn\nfc = nn.Linear(320, 10)\nx = torch.randn(64, 500)\nfc(x)\n"
    d = run(shell, cell).diagnosis
    names = {t.name: t for t in d.tensors}
    assert names["x"].shape == "(64, 500)" and names["x"].dtype == "float32"
    assert names["fc"].kind == "module"


def test_cell_source_is_in_the_line_cache(shell):
    import linecache

    d = run(shell, "import torch\ntorch.ones(2).view(3)\n").diagnosis
    assert linecache.getline(d.filename, 2).strip() == "torch.ones(2).view(3)"


def test_a_crashing_user_matcher_is_isolated(shell):
    from torchmagic.knowledge import register_pitfall, unregister_pitfall

    def broken(ctx):
        raise RuntimeError("matcher bug")

    register_pitfall("my-broken", title="t", what="w", fix="f", matcher=broken)
    try:
        d = run(shell, "import torch\ntorch.ones(2).view(3)\n").diagnosis
        assert d.internal_error is None
        assert d.line == 2
    finally:
        unregister_pitfall("my-broken")


def test_user_pitfalls_rank_ahead_of_builtin_ones(shell):
    from torchmagic.knowledge import register_pitfall, unregister_pitfall

    register_pitfall("team-view", title="Our view rule", what="w", fix="f", patterns=[r"view size|shape '\["])
    try:
        d = run(shell, "import torch\ntorch.ones(2).view(3)\n").diagnosis
        assert d.pitfalls[0] == "team-view"
    finally:
        unregister_pitfall("team-view")


def test_a_rerun_cell_snapshots_into_the_previous_runs_buffers(shell):
    shell.run_cell("import torch\ndata = torch.randn(512, 64)\n")
    cell = "%%torchdebug --fast\nscaled = data * 2\n"
    shell.run_cell(cell)
    first = torchmagic.last_diagnosis()
    buffer = first.snapshot.values["data"].untyped_storage().data_ptr()
    shell.run_cell("data += 1\n")
    shell.run_cell(cell)
    second = torchmagic.last_diagnosis()
    copy = second.snapshot.values["data"]
    assert copy.untyped_storage().data_ptr() == buffer
    assert torch.equal(copy, shell.user_ns["data"])
    assert first.snapshot.values == {} and first.snapshot.nbytes == second.snapshot.nbytes


def test_a_cell_run_again_reuses_its_translation_but_not_a_one_line_cells(shell):
    cell = "x = 1\n%time y = x + 1\n!true\n"
    first = engine.python_source(shell, cell)
    assert "run_line_magic('time'" in first and "system('true')" in first
    assert engine.python_source(shell, cell) is first  # the cached translation
    # one-line cells go through IPython's prefilter, which reads the namespace: never cached
    assert engine.python_source(shell, "z = 1\n") == "z = 1\n"
    assert not any(key[0] == "z = 1\n" for key in engine._translations)


def test_a_new_input_transformer_is_not_missed(shell):
    cell = "a = 1\nb = 2\n"
    before = engine.python_source(shell, cell)

    def shout(lines):
        return [line.replace("2", "3") for line in lines]

    shell.input_transformers_post.append(shout)
    try:
        after = engine.python_source(shell, cell)
    finally:
        shell.input_transformers_post.remove(shout)
    assert "b = 2" in before and "b = 3" in after
    assert engine.python_source(shell, cell) == before


def test_a_cell_compiled_before_reports_errors_under_its_new_filename(shell):
    cell = "def f(xs):\n    return [1 / x for x in xs]\nf([1, 0])\n"
    first = run(shell, cell).diagnosis
    shell.execution_count += 1  # a later cell number, the same text
    second_out = run(shell, cell)
    second = second_out.diagnosis
    assert second.filename != first.filename
    tb = second_out.exception.__traceback__
    files = []
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    # the module, the function and the comprehension all run as the new cell
    assert files.count(second.filename) == 3 and first.filename not in files
    assert second.line == 2


def test_a_registered_silent_pitfall_recognises_its_warning_until_unregistered(shell):
    from torchmagic.knowledge import register_pitfall, unregister_pitfall

    cell = "import warnings\nwarnings.warn('our loader skipped 3 shards')\n"
    assert all(f.pitfall != "our-shards" for f in run(shell, cell).diagnosis.findings)
    register_pitfall("our-shards", title="Shards skipped", what="w", fix="f", kind="silent",
                     patterns=[r"skipped \d+ shards"])
    try:
        findings = run(shell, cell).diagnosis.findings
        assert [(f.pitfall, f.line) for f in findings if f.pitfall == "our-shards"] == [("our-shards", 2)]
    finally:
        unregister_pitfall("our-shards")
    assert all(f.pitfall != "our-shards" for f in run(shell, cell).diagnosis.findings)


def test_the_cell_carries_the_number_ipython_gives_it(shell, capsys):
    shell.run_cell("a = 1", store_history=True)
    shell.run_cell("b = 2", store_history=True)
    result = shell.run_cell("%%torchdebug\nimport torch\nx = torch.ones(2)\ny = x.view(3)\n",
                            store_history=True)
    n = result.execution_count
    d = torchmagic.last_diagnosis()
    assert shell.compile.format_code_name(d.filename) == ("Cell", f"In[{n}]")
    capsys.readouterr()
    shell.run_line_magic("tb", "")
    out = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert f"Cell In[{n}], line 3" in out and f"In[{n + 1}]" not in out
    # %debug walks the same traceback: its cell frame is named after In[n]
    names = []
    tb = sys.last_traceback
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert d.filename in names and shell.compile.format_code_name(d.filename)[1] == f"In[{n}]"


def test_the_reports_traceback_names_cells_as_ipython_does(shell):
    from torchmagic.render import Report

    result = shell.run_cell("%%torchdebug --no-raise\nimport torch\ndef f(t):\n    return t.view(3)\n"
                            "f(torch.ones(2))\n", store_history=True)
    text = str(Report(torchmagic.last_diagnosis()))
    n = result.execution_count
    assert f"Cell In[{n}], line 4, in <module>" in text and f"Cell In[{n}], line 3, in f" in text
    assert "ipython-input" not in text


def test_a_syntax_error_report_has_no_torchmagic_frames(shell):
    d = run(shell, "x = 1\ny = (x +\nprint(y)\n").diagnosis
    assert d.error.type == "SyntaxError" and d.line == 2
    assert "engine.py" not in d.traceback and "ast.py" not in d.traceback
    assert "y = (x +" in d.traceback


def test_a_warning_in_a_loop_is_shown_once_and_recorded_every_time(shell):
    cell = ("import torch\nimport torch.nn.functional as F\nfor i in range(50):\n"
            "    loss = F.mse_loss(torch.zeros(4, 1), torch.zeros(4))\n")
    for flags in ({}, {"anomaly": False, "lint": False}, {"fast": True}):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("default")
            out = run(shell, cell, **flags)
        shown = [w for w in seen if "target size" in str(w.message)]
        assert len(shown) == 1, (flags, len(shown))
        if flags.get("lint", True):
            assert [f.pitfall for f in out.diagnosis.findings] == ["loss-broadcast"]


def test_the_traceback_shown_holds_no_frame_of_torchmagic(shell):
    """The recorder runs inside every torch call of a diagnosed run: its frames, like every
    other frame of the package, stay out of the traceback the user reads."""
    import os

    shell.run_cell("import torch, torch.nn as nn")
    shell.run_cell("%%torchdebug --no-raise\nnet = nn.Linear(3, 2)\nout = net(torch.randn(4, 3).double())\n")
    d = torchmagic.last_diagnosis()
    assert d is not None and not d.ok and "linear.py" in d.traceback
    package = os.path.dirname(torchmagic.__file__)
    assert package not in d.traceback, d.traceback
    for part in ("evidence", "diagnose", "run", "replay"):
        assert os.path.join(package, part) not in d.traceback


def test_the_traceback_of_a_failed_backward_ends_at_torch_not_at_the_mode_that_records(shell):
    shell.run_cell("import torch")
    shell.run_cell("%%torchdebug --no-raise\nw = torch.ones(3, requires_grad=True)\ny = w.exp()\n"
                   "y.add_(1)\ny.sum().backward()\n")
    d = torchmagic.last_diagnosis()
    assert d is not None and not d.ok and "backward" in d.traceback
    assert "overrides.py" not in d.traceback and "__torch_function__" not in d.traceback, d.traceback



def test_a_thrown_away_detach_is_the_line_to_change(shell):
    cell = ("import torch\n"
            "w = torch.randn(3, requires_grad=True)\n"
            "h = w * 2\n"
            "h.sum().backward()\n"
            "h.detach()\n"
            "(h * 3).sum().backward()\n")
    d = run(shell, cell).diagnosis
    assert d.pitfalls[0] == "backward-twice"
    assert d.line == 5
    assert any("h = h.detach()" in n for n in d.notes)


def test_a_modules_own_in_place_cast_is_not_a_thrown_away_result(shell):
    cell = ("import torch\n"
            "net = torch.nn.Linear(3, 2)\n"
            "net.double()\n"
            "print(net(torch.zeros(4, 3, dtype=torch.float64)))\n"
            "emb = torch.nn.Embedding(10, 4)\n"
            "emb(torch.tensor([0.0, 1.0]))\n")
    d = run(shell, cell).diagnosis
    assert d.pitfalls[0] == "index-dtype"
    assert d.line != 3
    assert not any("statement of its own" in n for n in d.notes)
