# pitfall: interpolate-size
# kind: error
# line: 3
# source: resizing a decoded image tensor before feeding it to a pretrained network
# %% setup
import torch
import torch.nn.functional as F
torch.manual_seed(0)
decoded = torch.randint(0, 256, (3, 375, 500), dtype=torch.uint8)   # torchvision.io.read_image
# %% cell
img = decoded.float() / 255
img = (img - 0.5) / 0.25
resized = F.interpolate(img, size=(224, 224))
print(resized.shape)
