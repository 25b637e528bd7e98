# pitfall: cpu-oversubscription
# kind: silent
# line: 2, 3
# source: a seed sweep launched from a notebook, three training processes each using every core
# shape: top
# %% setup
import os
import subprocess
import sys
import tempfile
import textwrap
sweep_dir = tempfile.mkdtemp()
train_script = os.path.join(sweep_dir, "train.py")
with open(train_script, "w") as fh:
    fh.write(textwrap.dedent("""
        import sys
        import torch
        torch.manual_seed(int(sys.argv[1]))
        x = torch.randn(512, 64)
        w = torch.randn(64, 64, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.01)
        for _ in range(20):
            loss = (x @ w).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        print(sys.argv[1], round(loss.item(), 4))
    """))
# %% cell
seeds = [0, 1, 2]
runs = [subprocess.Popen([sys.executable, train_script, str(s)], stdout=subprocess.PIPE, text=True)
        for s in seeds]
for run in runs:
    out, _ = run.communicate()
    print(out.strip())
