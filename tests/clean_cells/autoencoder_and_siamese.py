# pitfall: none
# kind: clean
# line: 0
# source: an autoencoder (input as its own target) and a siamese pair through one shared encoder
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
x = torch.randn(32, 20)
x1, x2, same = torch.randn(16, 20), torch.randn(16, 20), torch.randint(0, 2, (16,)) * 2 - 1
# %% cell
class AE(nn.Module):
    def __init__(self):
        super().__init__()
        self.sizes = [20, 8, 20]
        self.names = []
        self.enc = nn.Linear(20, 8)
        self.dec = nn.Linear(8, 20)
        self.names.append("enc")

    def forward(self, x):
        return self.dec(torch.relu(self.enc(x)))


ae = AE()
opt = torch.optim.Adam(ae.parameters(), lr=1e-3)
for step in range(3):
    opt.zero_grad()
    recon_loss = F.mse_loss(ae(x), x)
    pair_loss = F.cosine_embedding_loss(ae.enc(x1), ae.enc(x2), same)
    consistency = (ae(x1) - ae(x1 + 0.01 * torch.randn_like(x1))).pow(2).mean()
    (recon_loss + pair_loss + consistency).backward()
    opt.step()
print(recon_loss.item(), pair_loss.item())
