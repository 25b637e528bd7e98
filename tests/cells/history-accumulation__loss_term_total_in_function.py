# pitfall: history-accumulation
# kind: silent
# line: 13
# source: a VAE epoch that keeps its KL term's running total as a tensor, written for the test suite
# shape: function
# seen: run
# %% setup
import torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(0)
enc, dec = nn.Linear(10, 4), nn.Linear(2, 10)
samples = torch.randn(40, 10)
# %% cell
def epoch(opt, batch=8):
    kl_total = 0.0
    for i in range(0, 40, batch):
        x = samples[i:i + batch]
        mu, logvar = enc(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        recon = F.mse_loss(dec(z), x)
        kl = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).mean()
        loss = recon + 0.1 * kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        kl_total += kl
    return kl_total / 5

opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=1e-3)
for _ in range(2):
    print(float(epoch(opt)))
