# pitfall: distributed-sampler-epoch
# kind: silent
# shape: function
# line: 2
# source: written for the test suite
# %% setup
import torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler
reviews = TensorDataset(torch.randn(24, 5), torch.randint(0, 2, (24,)))
# %% cell
def fit(model, dataset, epochs=3, rank=1, world=2):
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True)
    loader = DataLoader(dataset, batch_size=6, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

fit(torch.nn.Linear(5, 2), reviews)
