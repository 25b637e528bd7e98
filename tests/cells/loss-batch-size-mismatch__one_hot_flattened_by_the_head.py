# pitfall: loss-batch-size-mismatch
# kind: error
# line: 2
# source: written for the test suite
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(23)

class IntentHead(nn.Module):
    def __init__(self, dim=24, intents=5):
        super().__init__()
        self.proj = nn.Linear(dim, intents)

    def loss(self, utterances, labels):
        return nn.functional.cross_entropy(self.proj(utterances), labels.reshape(-1))

utterance_vectors = torch.randn(6, 24)
intent_ids = torch.tensor([0, 3, 1, 4, 2, 0])
# %% cell
head = IntentHead()
targets = nn.functional.one_hot(intent_ids, num_classes=5)
loss = head.loss(utterance_vectors, targets)
loss.backward()
