"""Cells run under torchmagic as IPython runs them: statement by statement, through a real shell."""
from __future__ import annotations

import ast

import pytest
import torch

import torchmagic
from torchmagic.run import execute

MODES = ["%%torchdebug\n", "%%torchdebug --fast\n"]


@pytest.mark.parametrize("head", MODES)
def test_a_trailing_semicolon_hides_the_last_value(shell, head, capsys):
    shown = shell.run_cell(head + "a = 20\na + 22\n")
    assert shown.result == 42 and "Out" in capsys.readouterr().out
    hidden = shell.run_cell(head + "a = 20\na + 22;\n")
    assert hidden.success and hidden.result is None
    assert "42" not in capsys.readouterr().out
    commented = shell.run_cell(head + "a + 22;  # a comment after the semicolon\n")
    assert commented.result is None


@pytest.mark.parametrize("head", MODES)
def test_top_level_await_runs_as_in_ipython(shell, head):
    result = shell.run_cell(head + "import asyncio\nawait asyncio.sleep(0)\nv = await asyncio.sleep(0, result=5)\nv * 2\n")
    assert result.success and result.result == 10
    assert shell.user_ns["v"] == 5


def test_top_level_await_in_automatic_mode(shell):
    shell.run_line_magic("torchdebug", "on")
    try:
        result = shell.run_cell("import asyncio\nw = await asyncio.sleep(0, result=7)\nw\n")
    finally:
        shell.run_line_magic("torchdebug", "off")
    assert result.success and result.result == 7
    assert torchmagic.last_diagnosis().cell.startswith("import asyncio")


@pytest.mark.parametrize("head", MODES)
def test_a_cell_that_does_not_parse_runs_nothing(shell, head):
    shell.user_ns.pop("before_the_error", None)
    result = shell.run_cell(head + "before_the_error = 1\nx = (\n")
    assert isinstance(result.error_in_exec or result.error_before_exec, SyntaxError)
    assert "before_the_error" not in shell.user_ns


@pytest.mark.parametrize("head", MODES)
def test_a_statement_that_does_not_compile_fails_in_its_turn(shell, head):
    # IPython compiles statement by statement: what comes before a bare `break` runs
    plain = shell.run_cell("ran_first = 1\nbreak\n")
    assert shell.user_ns["ran_first"] == 1 and isinstance(plain.error_before_exec, SyntaxError)
    shell.user_ns.pop("ran_first")
    result = shell.run_cell(head + "ran_first = 2\nbreak\nran_after = 3\n")
    assert isinstance(result.error_in_exec, SyntaxError)
    assert shell.user_ns["ran_first"] == 2 and "ran_after" not in shell.user_ns


def test_the_shells_interactivity_setting_is_followed(shell, capsys):
    shell.ast_node_interactivity = "last_expr_or_assign"
    try:
        result = shell.run_cell("%%torchdebug\nanswer = 6 * 7\n")
    finally:
        shell.ast_node_interactivity = "last_expr"
    assert result.result == 42
    capsys.readouterr()
    shell.ast_node_interactivity = "all"
    try:
        shell.run_cell("%%torchdebug\n1 + 1000\n2 + 2000\n")
    finally:
        shell.ast_node_interactivity = "last_expr"
    shown = capsys.readouterr().out
    assert "1001" in shown and "2002" in shown


def test_a_cell_run_again_reuses_its_compiled_statements():
    source = "x = 1\ny = x + 1\ny\n"
    first = execute.compile_cell(source, "<first>")
    hits = execute._compiled.cache_info().hits
    second = execute.compile_cell(source, "<second>")
    assert execute._compiled.cache_info().hits == hits + 1
    assert [s.code.co_filename for s in second.steps] == ["<second>"] * 3
    assert [s.line for s in second.steps] == [1, 2, 3]
    assert first.steps[0].code.co_code == second.steps[0].code.co_code


def test_sync_points_follow_each_statement_and_the_last_value_still_shows(shell, capsys):
    compiled = execute.compile_cell("a = 1\nfor i in range(2):\n    b = i\na + 1\n", "<synced>", sync=True)
    assert compiled.synced and len(compiled.steps) == 3
    names = [{n.co_names for n in [s.code]} for s in compiled.steps]
    assert all("sync_point" in str(n) or "rerun" in str(n) for n in names)
    # a sync point outside a synchronising run does nothing: the cell runs, the value shows
    namespace: dict = {}
    ran = execute.complete(execute.run_steps(compiled, namespace, "<synced>"))
    assert ran.exception is None and namespace["b"] == 1


def test_user_ast_transformers_apply_as_in_ipython(shell):
    class Doubler(ast.NodeTransformer):
        def visit_Constant(self, node):
            return ast.Constant(node.value * 2) if isinstance(node.value, int) else node

    shell.ast_transformers.append(Doubler())
    try:
        shell.run_cell("%%torchdebug\ndoubled = 21\n")
    finally:
        shell.ast_transformers.pop()
    assert shell.user_ns["doubled"] == 42


def test_anomaly_stacks_stop_at_the_cell_statement(shell):
    # anomaly mode records forward stacks up to the cell's <module> frame, one statement at a time
    cell = ("import torch.fx.traceback as fxt\n"
            "def inner():\n"
            "    return fxt.format_stack()\n"
            "recorded = inner()\n")
    assert shell.run_cell("%%torchdebug\n" + cell).success
    recorded = shell.user_ns["recorded"]
    filename = torchmagic.last_diagnosis().filename
    assert len(recorded) == 2
    assert f'File "{filename}", line 4, in <module>' in recorded[0]
    assert "line 3, in inner" in recorded[1]


def test_a_future_import_reaches_the_statements_after_it(shell):
    result = shell.run_cell("%%torchdebug\nfrom __future__ import annotations\ndef f(x: NotDefinedHere): pass\nf.__annotations__\n")
    assert result.success and result.result == {"x": "NotDefinedHere"}


@pytest.mark.parametrize("head", MODES)
def test_a_failing_cell_runs_once(shell, head):
    shell.run_cell("runs = []\n")
    result = shell.run_cell(head + "runs.append(len(runs))\nraise ValueError('once')\n")
    assert isinstance(result.error_in_exec, ValueError) and shell.user_ns["runs"] == [0]
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("head", MODES)
def test_an_awaiting_cell_that_does_not_compile_whole_fails_as_in_ipython(shell, head):
    # IPython decides on the whole cell whether to run it on its event loop; one that does not
    # compile runs without a loop, and its first await that waits is a RuntimeError (plain
    # IPython says "'run_cell_async' needs a real async loop"), after the statements before it
    cell = "import asyncio\nawaited = 1\nawait asyncio.sleep(0)\nbreak\n"
    ours = shell.run_cell(head + cell)
    assert type(ours.error_in_exec) is RuntimeError and "needs a real async loop" in str(ours.error_in_exec)
    assert shell.user_ns["awaited"] == 1
    import warnings

    assert not any("Traceback of forward" in str(f[1] and f[1].pattern) for f in warnings.filters)
