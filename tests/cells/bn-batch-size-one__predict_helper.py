# pitfall: bn-batch-size-one
# kind: error
# line: 4
# source: written for the test suite
# cause: a helper from a setup cell runs the model on one image that the cell took out of the batch lines up
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
classifier = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                           nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3))
def predict(model, image):
    with torch.no_grad():
        return model(image.unsqueeze(0)).argmax(dim=1)
# %% cell
digits = torch.rand(10, 1, 12, 12)
first = digits[0]
print(first.shape)
label = predict(classifier, first)
print(label)
