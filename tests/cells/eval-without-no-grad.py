# pitfall: eval-without-no-grad
# kind: silent
# line: 3, 4
# source: building a retrieval index by encoding the whole document collection
# shape: top
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
doc_batches = [torch.randn(64, 128) for _ in range(10)]
encoder = nn.Sequential(nn.Linear(128, 256), nn.GELU(), nn.Linear(256, 64))
# %% cell
encoder.eval()
doc_vectors = []
for batch in doc_batches:
    doc_vectors.append(nn.functional.normalize(encoder(batch), dim=1))
index = torch.cat(doc_vectors)
query = nn.functional.normalize(torch.randn(1, 64), dim=1)
print((index @ query.T).topk(5, dim=0).indices.flatten().tolist())
