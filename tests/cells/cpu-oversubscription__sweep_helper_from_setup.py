# pitfall: cpu-oversubscription
# kind: silent
# line: 2
# source: written for the test suite
# shape: setup
# %% setup
import os, subprocess, sys, tempfile, textwrap
work = tempfile.mkdtemp()
script = os.path.join(work, "fit.py")
with open(script, "w") as fh:
    fh.write(textwrap.dedent("""
        import sys, torch
        torch.manual_seed(int(sys.argv[1]))
        w = torch.randn(256, 256)
        for _ in range(5):
            w = torch.tanh(w @ w.T / 256)
        print(sys.argv[1], float(w.mean()))
    """))

def launch_sweep(seeds):
    runs = [subprocess.Popen([sys.executable, script, str(s)], stdout=subprocess.PIPE, text=True) for s in seeds]
    return [r.communicate()[0].strip() for r in runs]
# %% cell
seeds = [0, 1, 2]
print(launch_sweep(seeds))
