# pitfall: numpy-object-array
# kind: error
# line: 2
# source: written for the test suite
# %% setup
import numpy as np
import torch
readings = [{"temp": 21.5, "humidity": 0.4}, {"temp": 19.0, "humidity": None}, {"temp": 23.1, "humidity": 0.55}]
# %% cell
columns = ["temp", "humidity"]
table = np.array([[r[c] for c in columns] for r in readings])
print(table.shape)
features = torch.tensor(table, dtype=torch.float32)
