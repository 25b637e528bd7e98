"""A cause in an earlier cell, end to end in a real shell: the diagnosis names the cell and the
line, the report shows both listings, and the cell's own line leads there."""
from __future__ import annotations

import torchmagic
from torchmagic.render.model import build
from torchmagic.render.text import TextRenderer

DATASET = """\
import numpy as np, torch, torch.nn as nn
from torch.utils.data import Dataset, DataLoader
class Rows(Dataset):
    def __init__(self, table):
        self.table = table
    def __len__(self):
        return len(self.table)
    def __getitem__(self, i):
        return torch.from_numpy(self.table[i, :-1]), torch.tensor(self.table[i, -1])
"""

CELL = """table = np.random.default_rng(0).random((32, 5))
net = nn.Linear(4, 1)
loader = DataLoader(Rows(table), batch_size=8)
for xb, yb in loader:
    out = net(xb)
"""


def test_a_dtype_made_in_an_earlier_cells_dataset(shell):
    setup = shell.run_cell(DATASET, store_history=True)
    assert setup.success
    shell.run_cell("%%torchdebug --no-raise\n" + CELL, store_history=True)
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "dtype-mismatch"
    assert d.cause is not None and d.cause.label == f"In[{setup.execution_count}]" and d.cause.line == 9
    assert "from_numpy" in d.cause.text and d.line in (3, 4)
    assert d.to_dict()["cause"] == {"cell": d.cause.label, "line": 9}
    text = TextRenderer(width=100).report(build(d))
    assert f"The line to change: {d.cause.label}, line 9" in text
    assert f"This cell reaches it on line {d.line}" in text
    assert "What the run saw" in text and f"`from_numpy` made float64 (4,) at {d.cause.label}, line 9" in text
    d.language = "zh"
    chinese = TextRenderer(lang="zh", width=100).report(build(d))
    assert f"需要修改的行：{d.cause.label} 第 9 行" in chinese and "运行中看到的" in chinese


def test_labels_made_in_the_cell_and_used_in_an_earlier_cells_helper(shell):
    shell.run_cell("import torch, torch.nn as nn, torch.nn.functional as F\n"
                   "def fit(model, X, y):\n"
                   "    loss = F.cross_entropy(model(X), y)\n"
                   "    loss.backward()\n", store_history=True)
    shell.run_cell("%%torchdebug --no-raise\n"
                   "stars = [1, 2, 3, 4, 5, 2]\n"
                   "y = torch.tensor(stars)\n"
                   "fit(nn.Linear(3, 5), torch.randn(6, 3), y)\n", store_history=True)
    d = torchmagic.last_diagnosis()
    assert d.pitfalls[0] == "target-out-of-range" and d.line == 2 and d.cause is None
