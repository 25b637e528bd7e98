"""What a replay may touch: the fast-mode replay and the CPU rerun, kind by kind, in a real shell.

The contract (README, "What a replay repeats"): a replay runs the cell's statements up to the
one where the real run failed, in its own copies of every global it can reach (functions'
and classes' globals included); files the cell's own code writes go to private copies,
magics and shell commands are not run, settings and module variables it changes are put
back, and what leaves the process anyway is reported by name.
"""
from __future__ import annotations

import socket
import sys
import textwrap

import pytest
import torch

import torchmagic

FAST = "%%torchdebug --fast --no-raise\n"
CPU = "%%torchdebug --rerun cpu --no-raise\n"


def effects(d) -> list[str]:
    return [n for n in d.notes if "could not keep to itself" in n]


@pytest.mark.parametrize("head", [FAST, CPU])
def test_methods_of_the_users_classes_read_the_replays_copies(shell, head):
    shell.run_cell("log = []\nclass T:\n    calls = 0\n    def step(self):\n        log.append(1)\n"
                   "        T.calls += 1\n        return super().__repr__()\nt = T()\n")
    shell.run_cell(head + "t.step()\nraise ValueError('after the step')\n")
    d = torchmagic.last_diagnosis()
    assert d.replayed or d.rerun is not None
    assert shell.user_ns["log"] == [1] and shell.user_ns["T"].calls == 1
    assert type(shell.user_ns["t"]) is shell.user_ns["T"]  # the user's objects keep their class


def test_subclasses_and_isinstance_work_in_the_replay(shell):
    shell.run_cell(textwrap.dedent("""
        import torch
        import torch.nn as nn
        seen = []
        class Base(nn.Module):
            def forward(self, x):
                seen.append('base')
                return x
        class Net(Base):
            def forward(self, x):
                seen.append('net')
                return super().forward(x) * 2
        net = Net()
    """))
    shell.run_cell(FAST + "assert isinstance(net, Net) and isinstance(net, Base)\nnet(torch.ones(1))\n"
                   "raise ValueError('late')\n")
    d = torchmagic.last_diagnosis()
    assert d.replayed
    assert not any("did not reproduce" in n for n in d.notes)
    assert shell.user_ns["seen"] == ["net", "base"]


def test_custom_autograd_functions_are_recreated_with_their_backward(shell):
    shell.run_cell(textwrap.dedent("""
        import torch
        calls = []
        class Square(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                calls.append('forward')
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, grad):
                calls.append('backward')
                x, = ctx.saved_tensors
                return 2 * x * grad
        x = torch.ones(2, requires_grad=True)
    """))
    shell.run_cell(FAST + "Square.apply(x).sum().backward()\nraise ValueError('after backward')\n")
    d = torchmagic.last_diagnosis()
    assert d.replayed and d.snapshot.shared_classes == []
    assert shell.user_ns["calls"] == ["forward", "backward"]
    assert shell.user_ns["x"].grad.tolist() == [2.0, 2.0]


def test_instances_of_recreated_classes_pickle_as_the_users_class(shell, tmp_path):
    import pickle

    target = tmp_path / "net.pt"
    shell.run_cell("import torch, torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self):\n"
                   "        super().__init__()\n        self.fc = nn.Linear(2, 1)\nnet = Net()\n")
    shell.run_cell("import pickle\n")
    shell.run_cell(FAST + f"torch.save(net, {str(target)!r})\ncopied = pickle.loads(pickle.dumps(net))\n"
                   "raise ValueError('after saving')\n")
    d = torchmagic.last_diagnosis()
    assert d.replayed and not any("did not reproduce" in n for n in d.notes)
    assert type(pickle.loads(pickle.dumps(shell.user_ns["net"]))) is shell.user_ns["Net"]
    import copyreg

    assert not any(getattr(k, "__qualname__", "") == "Net" for k in copyreg.dispatch_table)


def test_files_the_cell_writes_are_not_written_again(shell, tmp_path):
    log = tmp_path / "log.txt"
    ckpt = tmp_path / "ckpt.pt"
    cell = (f"import torch\nwith open({str(log)!r}, 'a') as f:\n    f.write('epoch\\n')\n"
            f"torch.save(torch.ones(2), {str(ckpt)!r})\n"
            f"back = open({str(log)!r}).read()\n"
            "raise ValueError(back)\n")
    shell.run_cell(FAST + cell)
    d = torchmagic.last_diagnosis()
    assert log.read_text() == "epoch\n" and ckpt.exists()
    assert d.replayed and effects(d) == []
    assert not any("did not reproduce" in n for n in d.notes)  # the replay read its own copy


def test_writes_by_libraries_are_reported_by_name(shell, tmp_path):
    import numpy as np  # noqa: F401

    target = tmp_path / "array.npy"
    shell.run_cell(FAST + f"import numpy as np\nnp.save({str(target)!r}, np.ones(3))\nraise ValueError('x')\n")
    d = torchmagic.last_diagnosis()
    assert effects(d) == [f"The replay repeated what it could not keep to itself: wrote `{target}`."]


def test_a_replay_that_only_prints_reports_no_outside_effect(shell, capsys):
    shell.run_cell(FAST + "print('once only')\nraise ValueError('x')\n")
    assert capsys.readouterr().out.splitlines().count("once only") == 1
    assert effects(torchmagic.last_diagnosis()) == []


def test_sockets_and_processes_are_reported(shell):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    try:
        cell = (f"import socket, subprocess, sys\nsocket.create_connection(('127.0.0.1', {port})).close()\n"
                "subprocess.run([sys.executable, '-c', 'pass'])\nraise ValueError('x')\n")
        shell.run_cell(FAST + cell)
    finally:
        server.close()
    [note] = effects(torchmagic.last_diagnosis())
    assert f"connected to 127.0.0.1:{port}" in note and f"ran `{sys.executable} -c pass`" in note


def test_the_audit_hook_is_inert_outside_a_replay(shell, tmp_path):
    from torchmagic.replay import isolation

    shell.run_cell(FAST + "raise ValueError('installs the hook')\n")
    assert isolation._hook_installed and isolation._active is None
    (tmp_path / "outside.txt").write_text("no replay is running")
    assert isolation._active is None


def test_variables_of_the_users_modules_are_put_back(shell, tmp_path, monkeypatch):
    (tmp_path / "fuzzhelper_iso.py").write_text("calls = 0\ndef bump():\n    global calls\n    calls += 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        shell.run_cell("import fuzzhelper_iso\n")
        shell.run_cell(FAST + "fuzzhelper_iso.bump()\nimport __main__\n__main__.planted = 1\nraise ValueError('x')\n")
        assert sys.modules["fuzzhelper_iso"].calls == 1  # the real run's call, not the replay's
        assert shell.user_ns["planted"] == 1
    finally:
        sys.modules.pop("fuzzhelper_iso", None)


@pytest.mark.parametrize("head", [FAST, CPU])
def test_magics_inside_a_replayed_cell_are_not_run(shell, head):
    shell.run_cell("log = []\n")
    cell = ("get_ipython().run_cell_magic('torchdebug', '--no-raise', 'log.append(1)\\n')\n"
            "%time shadow_only = len(log)\n"
            "raise ValueError('x')\n")
    shell.run_cell(head + cell)
    d = torchmagic.last_diagnosis()
    assert shell.user_ns["log"] == [1]
    assert shell.user_ns["shadow_only"] == 1  # set by the real run's %time, never by the replay
    stopped = " ".join(d.notes + ([d.rerun.note] if d.rerun else []))
    assert "`%%torchdebug` is a magic" in stopped and "(line 1)" in stopped


def test_input_and_exit_stop_the_replay(shell):
    shell.run_cell("def ask():\n    ask.calls = getattr(ask, 'calls', 0) + 1\n"
                   "    return 'typed' if ask.calls == 1 else input('again? ')\n")
    shell.run_cell(FAST + "answer = ask()\nraise ValueError(answer)\n")
    d = torchmagic.last_diagnosis()
    assert any("`input()` waits for you" in n for n in d.notes)


def test_settings_a_replay_changes_are_put_back(shell):
    shell.run_cell(FAST + "import os, warnings, torch\ntorch.set_grad_enabled(False)\nos.environ['TM_ISO'] = '1'\n"
                   "warnings.simplefilter('ignore')\nraise ValueError('x')\n")
    import os
    import warnings

    # the real run's own changes stay, as in plain IPython; the replay's leave no trace on top
    assert not torch.is_grad_enabled() and os.environ.pop("TM_ISO") == "1"
    assert warnings.filters[0][0] == "ignore"
    torch.set_grad_enabled(True)
    warnings.filters.pop(0)


def test_the_replay_sees_the_state_before_the_run(shell):
    shell.run_cell("import torch\nw = torch.zeros(2)\n")
    shell.run_cell(FAST + "w += 1\nassert w.sum() == 4, 'w is not 2, 2'\n")
    d = torchmagic.last_diagnosis()
    # the real run fails with w at 1, 1; a replay from the state after the run would reach
    # 2, 2 and pass: it fails the same way, so it started from the state before the run
    assert d.error.type == "AssertionError" and d.replayed
    assert not any("did not reproduce" in n for n in d.notes)
    assert shell.user_ns["w"].tolist() == [1.0, 1.0]


def test_an_interrupt_during_the_replay_keeps_the_cells_error(shell):
    shell.run_cell("def step():\n    step.calls = getattr(step, 'calls', 0) + 1\n"
                   "    if step.calls > 1:\n        raise KeyboardInterrupt\n    raise ValueError('the real error')\n")
    result = shell.run_cell("%%torchdebug --fast\nstep()\n")
    assert isinstance(result.error_in_exec, ValueError)
    d = torchmagic.last_diagnosis()
    assert d.interrupted and any("diagnosis was interrupted" in n for n in d.notes)


def test_system_exit_in_a_replay_is_the_replays_error(shell):
    shell.run_cell("def leave():\n    leave.calls = getattr(leave, 'calls', 0) + 1\n"
                   "    raise ValueError('first') if leave.calls == 1 else SystemExit(3)\n")
    result = shell.run_cell("%%torchdebug --fast\nleave()\n")
    assert isinstance(result.error_in_exec, ValueError)
    assert torchmagic.last_diagnosis().error.type == "ValueError"


def test_a_class_that_cannot_be_recreated_is_named(shell):
    shell.run_cell("import enum\nbag = []\nclass Mode(enum.Enum):\n    A = 1\n"
                   "    def use(self):\n        bag.append(self)\n")
    shell.run_cell(FAST + "Mode.A.use()\nraise ValueError('x')\n")
    d = torchmagic.last_diagnosis()
    assert d.snapshot.shared_classes == ["Mode"]
    assert any("`Mode`" in n for n in effects(d))


def test_torchmagic_itself_is_not_among_the_users_modules():
    import torchmagic.replay.isolation as isolation
    import torchmagic.run.guards  # noqa: F401  (a module of another folder of the package)

    names = [m.__name__ for m in isolation._user_modules()]
    assert not [n for n in names if n == "torchmagic" or n.startswith("torchmagic.")], names
