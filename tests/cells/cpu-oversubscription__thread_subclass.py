# pitfall: cpu-oversubscription
# kind: silent
# line: 2
# source: simulation workers that subclass Thread, written for the test suite
# shape: setup
# %% setup
import threading
import torch


class Simulator(threading.Thread):
    def __init__(self, seed, results):
        super().__init__(daemon=True)
        self.seed, self.results = seed, results

    def run(self):
        g = torch.Generator().manual_seed(self.seed)
        field = torch.randn(64, 64, generator=g)
        for _ in range(5):
            field = torch.tanh(field @ field.T / 64)
        self.results.append(round(field.mean().item(), 4))
# %% cell
results = []
sims = [Simulator(s, results) for s in range(2)]
for s in sims:
    s.start()
for s in sims:
    s.join()
print(sorted(results))
