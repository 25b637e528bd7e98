# pitfall: none
# kind: clean
# line: 0
# source: the train/val phase loop of the PyTorch transfer-learning tutorial (set_grad_enabled per phase)
# %% setup
import copy
import torch
import torch.nn as nn
torch.manual_seed(0)
dataloaders = {p: [(torch.randn(8, 16), torch.randint(0, 3, (8,))) for _ in range(3)] for p in ("train", "val")}
# %% cell
model = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 3))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=7, gamma=0.1)
best_model_wts = copy.deepcopy(model.state_dict())
best_acc = 0.0
for epoch in range(2):
    for phase in ["train", "val"]:
        if phase == "train":
            model.train()
        else:
            model.eval()
        running_loss, running_corrects = 0.0, 0
        for inputs, labels in dataloaders[phase]:
            optimizer.zero_grad()
            with torch.set_grad_enabled(phase == "train"):
                outputs = model(inputs)
                _, preds = torch.max(outputs, 1)
                loss = criterion(outputs, labels)
                if phase == "train":
                    loss.backward()
                    optimizer.step()
            running_loss += loss.item() * inputs.size(0)
            running_corrects += torch.sum(preds == labels.data)
        if phase == "train":
            scheduler.step()
        epoch_acc = running_corrects.double() / 24
        if phase == "val" and epoch_acc > best_acc:
            best_acc = epoch_acc
            best_model_wts = copy.deepcopy(model.state_dict())
model.load_state_dict(best_model_wts)
print(best_acc)
