# pitfall: ambiguous-bool
# kind: error
# line: 2
# source: selecting working-age patients by combining two conditions with `and`
# %% setup
import torch
torch.manual_seed(0)
ages = torch.randint(0, 95, (200,))
blood_pressure = torch.randn(200) * 15 + 120
# %% cell
mean_by_group = {}
working_age = (ages >= 18) and (ages < 65)
mean_by_group["working"] = blood_pressure[working_age].mean().item()
mean_by_group["other"] = blood_pressure[~working_age].mean().item()
print(mean_by_group)
