# pitfall: conv-input-shape
# kind: error
# line: 6, 8
# source: predicting a single handwritten digit of shape (28, 28) with a trained MNIST CNN
# %% setup
import torch
import torch.nn as nn
torch.manual_seed(0)
mnist_test = torch.rand(10, 28, 28)
# %% cell
mnist_cnn = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(8 * 14 * 14, 10),
)
mnist_cnn.eval()
digit = mnist_test[3]
with torch.no_grad():
    prediction = mnist_cnn(digit).argmax(dim=1)
print(prediction)
