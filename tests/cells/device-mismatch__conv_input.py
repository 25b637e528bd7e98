# pitfall: device-mismatch
# kind: error
# line: 8
# requires: cuda
# source: inference on one test image after training on the GPU: the image stays on the CPU
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
test_image = torch.rand(3, 32, 32)
# %% cell
classifier = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Linear(16, 10),
).cuda()
classifier.eval()
with torch.no_grad():
    batch = test_image.unsqueeze(0)
    probs = classifier(batch).softmax(dim=1)
print(probs.argmax(1).item())
