# pitfall: requires-grad-typo
# kind: silent
# line: 4
# source: freezing the embedding table of a text classifier before fine-tuning
# shape: top
# %% setup
import torch
import torch.nn as nn

class TextClassifier(nn.Module):
    def __init__(self, vocab=500, dim=32, classes=4):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.encoder = nn.GRU(dim, dim, batch_first=True)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids):
        _, h = self.encoder(self.embedding(ids))
        return self.head(h[-1])

torch.manual_seed(0)
ids = torch.randint(0, 500, (16, 20))
labels = torch.randint(0, 4, (16,))
# %% cell
model = TextClassifier()
for name, param in model.named_parameters():
    if name.startswith("embedding"):
        param.requries_grad = False
optimizer = torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=1e-3)
loss = nn.functional.cross_entropy(model(ids), labels)
optimizer.zero_grad()
loss.backward()
optimizer.step()
