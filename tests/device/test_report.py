"""`%device`: the installation report, setting the default device, redirection, the audit.

`shell` (from conftest) is a fresh InteractiveShell with `%load_ext torchmagic` done.
"""
from __future__ import annotations

import re

import pytest
import torch
from IPython.core.error import UsageError
from torch import nn

from torchmagic.device import redirect
from torchmagic.device import report as device
from torchmagic.device import AuditReport, DeviceChoice, DeviceReport, RedirectChange

HAS_CUDA = torch.cuda.is_available()
CPU_ONLY_BUILD = torch.version.cuda is None and getattr(torch.version, "hip", None) is None
ORIGINAL_IS_AVAILABLE = torch.cuda.is_available
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def restore_torch():
    """Default device, redirection and mode stack as before the test, even if it fails."""
    context = getattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context", None)
    previous = None if context is None else context.device
    depth = torch._C._len_torch_function_stack()
    yield
    redirect.stop_redirect()
    torch.set_default_device(previous)
    assert torch._C._len_torch_function_stack() == depth
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE


@pytest.fixture
def names(shell):
    """Names a test puts in the user namespace; removed afterwards."""
    created: list[str] = []

    def put(*track: str, **values):
        shell.user_ns.update(values)
        created.extend(track)
        created.extend(values)

    yield put
    for name in created:
        shell.user_ns.pop(name, None)


def device_magic(shell, line: str = ""):
    return shell.run_line_magic("device", line)


# --------------------------------------------------------------------------- report
def test_report_renders_without_a_gpu(shell):
    report = device_magic(shell)
    assert isinstance(report, DeviceReport)
    assert report.torch_version == torch.__version__
    assert report.cuda_available is HAS_CUDA
    assert report.default_device == "cpu"
    assert report.torch_threads == torch.get_num_threads()
    assert report.redirect is None
    plain = str(report)
    assert torch.__version__ in plain and "CUDA_VISIBLE_DEVICES" in plain
    html = report._repr_html_()
    assert html.count("<table") >= 1 and "CUDA_LAUNCH_BLOCKING" in html
    if CPU_ONLY_BUILD:
        assert report.build == "CPU-only"
        assert report.gpus == [] or not any(g.seen_by_torch for g in report.gpus)


def test_report_in_chinese(shell):
    report = device_magic(shell, "--lang zh")
    assert report.language == "zh"
    assert CJK.search(str(report)) and CJK.search(report._repr_html_())


def test_pretty_printing_uses_the_text(shell):
    from IPython.lib.pretty import pretty

    report = device.device_report()
    assert pretty(report) == str(report)


def test_visible_device_entries_follow_cuda_parsing():
    assert device.visible_device_entries(None) is None
    assert device.visible_device_entries("") == []
    assert device.visible_device_entries("-1") == []
    assert device.visible_device_entries("0,1") == ["0", "1"]
    assert device.visible_device_entries("1,-1,0") == ["1"]
    assert device.visible_device_entries("GPU-abc, 2") == ["GPU-abc", "2"]


def _facts(**changes) -> DeviceReport:
    report = device.device_report()
    for key, value in changes.items():
        setattr(report, key, value)
    report.issues = []
    return report


SMI_ONE_GPU = [{"uuid": "GPU-1", "name": "NVIDIA A100", "used": 0, "free": 1 << 30,
                "total": 1 << 30, "driver": "470.82"}]


def _ids(issues) -> list[str]:
    return [i.pitfall for i in issues if i.pitfall]


def test_diagnosis_cpu_build_on_a_gpu_machine():
    report = _facts(cuda_built=False, cuda_available=False, cuda_version=None, driver="470.82")
    issues = device.diagnose(report, SMI_ONE_GPU)
    assert _ids(issues) == ["cuda-not-available"]
    assert "CPU-only" in issues[0].message and "A100" in issues[0].message
    zh = device.diagnose(report, SMI_ONE_GPU, lang="zh")
    assert CJK.search(zh[0].message)


def test_diagnosis_cuda_visible_devices_hides_every_gpu():
    for value in ("", "-1"):
        report = _facts(cuda_built=True, cuda_available=False, cuda_version="12.6",
                        cuda_visible_devices=value)
        assert _ids(device.diagnose(report, SMI_ONE_GPU)) == ["cuda-visible-devices"]


def test_diagnosis_cuda_visible_devices_names_a_missing_gpu():
    report = _facts(cuda_built=True, cuda_available=False, cuda_version="12.6",
                    cuda_visible_devices="3")
    issues = device.diagnose(report, SMI_ONE_GPU)
    assert _ids(issues) == ["cuda-visible-devices"] and "'3'" in issues[0].message


def test_diagnosis_cuda_visible_devices_changed_after_init(monkeypatch):
    monkeypatch.setattr(device, "_cuda_env_at_init", {"CUDA_VISIBLE_DEVICES": "0"})
    report = _facts(cuda_built=True, cuda_available=True, cuda_version="12.6",
                    cuda_visible_devices="1", device_count=1)
    issues = device.diagnose(report, SMI_ONE_GPU * 2)
    assert _ids(issues) == ["cuda-visible-devices"]
    assert "'0'" in issues[0].message and "'1'" in issues[0].message
    # unobserved start, but torch sees more devices than the variable lists now
    monkeypatch.setattr(device, "_cuda_env_at_init", None)
    report = _facts(cuda_built=True, cuda_available=True, cuda_visible_devices="0",
                    device_count=2)
    assert _ids(device.diagnose(report, SMI_ONE_GPU * 2)) == ["cuda-visible-devices"]


def test_diagnosis_driver_too_old():
    report = _facts(cuda_built=True, cuda_available=False, cuda_version="12.6", driver="418.1",
                    cuda_visible_devices=None)
    said = ["CUDA initialization: The NVIDIA driver on your system is too old (found version 10010)."]
    issues = device.diagnose(report, SMI_ONE_GPU, said)
    assert _ids(issues) == ["cuda-not-available"]
    assert "too old" in issues[0].message and "418.1" in issues[0].message


def test_diagnosis_cuda_build_without_any_gpu_is_only_information():
    report = _facts(cuda_built=True, cuda_available=False, cuda_version="12.6",
                    cuda_visible_devices=None)
    issues = device.diagnose(report, [])
    if not device._nvidia_present([]):
        assert [(i.pitfall, i.level) for i in issues if i.pitfall] == [("cuda-not-available", "info")]


def test_diagnosis_cpu_oversubscription():
    report = _facts(torch_threads=16, usable_cpus=2)
    issues = device.diagnose(report, [], quota=2)
    over = [i for i in issues if i.pitfall == "cpu-oversubscription"]
    assert len(over) == 1 and "torch.set_num_threads(2)" in over[0].message
    assert "cpu-oversubscription" not in _ids(device.diagnose(_facts(torch_threads=2, usable_cpus=2)))


# --------------------------------------------------------------------------- setting the device
def test_set_cpu_clears_a_cuda_default(shell):
    torch.set_default_device("cuda")  # e.g. from a notebook written for a GPU machine
    choice = device_magic(shell, "cpu")
    assert isinstance(choice, DeviceChoice)
    assert choice.device == "cpu" and choice.previous.startswith("cuda")
    assert device.current_default_device() == "cpu"
    assert torch.zeros(1).device.type == "cpu"
    assert getattr(torch._GLOBAL_DEVICE_CONTEXT, "device_context", None) is None
    assert "from_numpy" in str(choice) and "DataLoader" in choice._repr_html_()


def test_set_lists_namespace_objects_left_behind(shell, names):
    names(weights=torch.zeros(2, device="meta"), on_cpu=torch.zeros(2))
    choice = device_magic(shell, "cpu")
    assert any(s.startswith("weights (meta)") for s in choice.stays)
    assert not any(s.startswith("on_cpu") for s in choice.stays)


@pytest.mark.skipif(HAS_CUDA, reason="checks a machine without CUDA")
def test_auto_picks_cpu_without_accelerators(shell):
    choice = device_magic(shell, "auto")
    if not torch.backends.mps.is_available():
        assert choice.device == "cpu" and choice.torch_device == torch.device("cpu")
        assert "auto" in str(choice)


@pytest.mark.skipif(HAS_CUDA, reason="checks the error a machine without CUDA gives")
@pytest.mark.parametrize("spec", ["cuda", "cuda:1"])
def test_cuda_without_cuda_is_a_usage_error(shell, spec):
    with pytest.raises(UsageError) as err:
        device_magic(shell, spec)
    message = str(err.value)
    assert "CUDA is not available" in message and "%device cpu --redirect" in message
    if CPU_ONLY_BUILD:
        assert "CPU-only" in message
    assert device.current_default_device() == "cpu"


@pytest.mark.parametrize("spec, words", [
    ("gpu", "not a torch device"),
    ("bogus", "unknown device"),
    ("meta", "torch.set_default_device"),
])
def test_bad_device_specs(shell, spec, words):
    with pytest.raises(UsageError, match=words):
        device_magic(shell, spec)


def test_usage_error_in_chinese(shell):
    with pytest.raises(UsageError) as err:
        device_magic(shell, "bogus --lang zh")
    assert CJK.search(str(err.value))


def test_conflicting_flags(shell):
    with pytest.raises(UsageError):
        device_magic(shell, "cpu --redirect --no-redirect")
    with pytest.raises(UsageError):
        device_magic(shell, "audit --redirect")


# --------------------------------------------------------------------------- redirection
CUDA_CELL = """
import torch
from torch import nn
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)).cuda()
x = torch.randn(16, 4).to('cuda', non_blocking=True)
y = torch.zeros(16, dtype=torch.long, device='cuda:0')
loss = nn.functional.cross_entropy(model(x.to(device)), y)
loss.backward()
n_gpus = torch.cuda.device_count()
"""


def test_cuda_cell_runs_under_redirect_and_state_is_restored(shell, names):
    change = device_magic(shell, "cpu --redirect")
    assert isinstance(change, RedirectChange) and change.active and change.target == "cpu"
    assert "--no-redirect" in str(change)
    result = shell.run_cell(CUDA_CELL)
    names("device", "model", "x", "y", "loss", "n_gpus", "nn")
    assert result.success, result.error_in_exec
    ns = shell.user_ns
    assert ns["device"] == torch.device("cpu") and ns["n_gpus"] == 0
    assert all(p.device.type == "cpu" for p in ns["model"].parameters())
    assert ns["x"].device.type == "cpu" and ns["y"].device.type == "cpu"
    assert ns["model"][0].weight.grad is not None
    report = device_magic(shell)  # the reminder is visible in each report
    assert report.redirect == "cuda, mps → cpu"
    assert "--no-redirect" in report.issues[0].message
    stopped = device_magic(shell, "--no-redirect")
    assert not stopped.active and stopped.target == "cpu"
    assert torch.cuda.is_available is ORIGINAL_IS_AVAILABLE
    assert torch.cuda.device_count is redirect.original(torch.cuda.device_count)
    assert torch._C._len_torch_function_stack() == 0
    assert redirect.redirect_active() is None
    assert device_magic(shell).redirect is None


def test_no_redirect_when_none_is_active(shell):
    change = device_magic(shell, "--no-redirect")
    assert not change.active and "No redirection" in str(change)


@pytest.mark.skipif(HAS_CUDA, reason="checks a machine without CUDA")
def test_setting_a_redirected_device_says_why(shell):
    device_magic(shell, "--redirect")
    with pytest.raises(UsageError, match="--no-redirect"):
        device_magic(shell, "cuda")


# --------------------------------------------------------------------------- audit
class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.heads = [nn.Linear(4, 2), nn.Linear(4, 2)]  # not registered
        self.drop = nn.Dropout(0.5)
        self.lazy = nn.Linear(2, 2, device="meta")  # parameters on a second device


def test_audit_flags_and_sizes(shell, names):
    model = Net()
    big = torch.zeros(100, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    names(model=model, big=big, small=torch.ones(3, requires_grad=True), opt=opt,
          _private=torch.zeros(1000))
    before = {"training": model.training, "state": len(opt.state),
              "params": [id(p) for p in model.parameters()]}
    report = device_magic(shell, "audit")
    assert isinstance(report, AuditReport)
    assert report.row("_private") is None
    row = report.row("big")
    assert row.nbytes == 4000 and row.shape == "(100, 10)" and row.dtype == "float32"
    assert row.device == "cpu" and row.requires_grad is False
    sizes = [r.nbytes for r in report.rows]
    assert sizes == sorted(sizes, reverse=True)
    net = report.row("model")
    assert net.device == "cpu, meta" and net.mode == "train"
    flagged = {f.pitfall for f in net.flags}
    assert {"device-mismatch", "unregistered-submodule", "train-eval-mode"} <= flagged
    assert any("model.heads" in f.message for f in net.flags)
    assert report.totals["cpu"] >= 4000 + 4 * (16 + 4)
    plain, html = str(report), report._repr_html_()
    for pitfall in ("device-mismatch", "unregistered-submodule", "train-eval-mode"):
        assert pitfall in plain and pitfall in html
    assert "3.9 KiB" in plain
    # read-only
    assert model.training == before["training"] and len(opt.state) == before["state"]
    assert [id(p) for p in model.parameters()] == before["params"]


def test_audit_plain_tensor_attribute_on_another_device(shell, names):
    model = nn.Linear(2, 2)
    model.mask = torch.ones(2, device="meta")  # not a buffer: .to() would not move it
    names(model=model)
    row = device_magic(shell, "audit").row("model")
    assert [f.pitfall for f in row.flags] == ["device-mismatch"]
    assert "model.mask" in row.flags[0].message and "register_buffer" in row.flags[0].message


def test_audit_eval_model_is_not_flagged(shell, names):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)).eval()
    names(model=model)
    row = device_magic(shell, "--audit").row("model")
    assert row.mode == "eval" and not row.flags


def test_audit_optimizer_state_on_another_device(shell, names):
    weight = nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    opt.state[weight]["momentum_buffer"] = torch.zeros(3, device="meta")
    names(weight=weight, opt=opt)
    row = device_magic(shell, "audit").row("opt")
    assert [f.pitfall for f in row.flags] == ["optimizer-device"]
    assert "momentum_buffer" in row.flags[0].message


def test_audit_stale_optimizer(shell, names):
    old = nn.Linear(2, 2)
    opt = torch.optim.SGD(old.parameters(), lr=0.1)
    names(model=nn.Linear(2, 2), opt=opt)  # the model was rebuilt after the optimizer
    row = device_magic(shell, "audit").row("opt")
    assert "optimizer-device" in [f.pitfall for f in row.flags]


def test_audit_list_of_losses_with_history(shell, names):
    w = torch.ones(2, requires_grad=True)
    names(losses=[(w * i).sum() for i in range(3)], values=[1.0, 2.0])
    report = device_magic(shell, "audit")
    row = report.row("losses")
    assert row.category == "container" and row.kind == "list[Tensor]"
    assert [f.pitfall for f in row.flags] == ["history-accumulation"]
    assert report.row("values") is None


def test_audit_in_chinese_and_empty(shell):
    report = device.audit({"x": torch.zeros(2)}, lang="zh")
    assert CJK.search(str(report)) and CJK.search(report._repr_html_())
    empty = device.audit({"_hidden": torch.zeros(2), "n": 3, "torch": torch})
    assert empty.rows == [] and "No tensors" in str(empty)


def test_audit_text_fits_100_columns():
    w = torch.ones(3, requires_grad=True)
    ns = {
        "a_rather_long_name_for_the_validation_embeddings_of_every_item": torch.zeros(12, 34, 56, 7),
        "carried": (w * 2).transpose(0, 0).unsqueeze(0).expand(5, 3),
        "encoder_with_a_long_name": nn.TransformerEncoderLayer(16, 2),
    }
    for lang in ("en", "zh"):
        text = str(device.audit(ns, lang=lang))
        widths = [sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in line) for line in text.splitlines()]
        assert max(widths) <= 100, text
    assert "a_rather" in text and "…" in text  # cut, not dropped


# --------------------------------------------------------------------------- with a GPU
@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_report_lists_gpus(shell):
    report = device_magic(shell)
    assert report.cuda_available and report.device_count == torch.cuda.device_count()
    assert report.gpus and report.gpus[0].seen_by_torch
    first = report.gpus[0]
    assert first.name == torch.cuda.get_device_name(0)
    assert re.fullmatch(r"\d+\.\d+", first.capability) and first.total > 0
    assert first.name in str(report) and first.name in report._repr_html_()


@pytest.mark.cuda
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU")
def test_set_cuda_default_and_audit(shell, names):
    choice = device_magic(shell, "cuda")
    assert choice.device.startswith("cuda")
    assert torch.zeros(1).device.type == "cuda"
    names(g=torch.zeros(256, 256))
    report = device_magic(shell, "audit")
    assert report.row("g").device.startswith("cuda")
    assert any(d.startswith("cuda") for d in report.totals)
    count = torch.cuda.device_count()
    with pytest.raises(UsageError, match="invalid device ordinal"):
        device_magic(shell, f"cuda:{count}")
