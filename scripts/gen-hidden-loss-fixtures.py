# PyTorch reference for the hidden-state distillation loss (src/distill/hidden-loss.ts):
# cosine = mean over unmasked rows of 1 - F.cosine_similarity(s @ P.T, t), mse = F.mse_loss(s @ P.T, t)
# over unmasked rows (P absent when the widths are equal), the gradients of gradScale * loss with
# respect to s and P. Float64 from float32 inputs.
# Run: /usr/bin/python3 scripts/gen-hidden-loss-fixtures.py  (writes test/fixtures/distill/hidden.{json,bin})
import os
import sys
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
from fixture_io import FixtureWriter

IGNORE = -100
torch.manual_seed(17)
out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'distill', 'hidden')
w = FixtureWriter(out, 'scripts/gen-hidden-loss-fixtures.py')
for kind in ['cosine', 'mse']:
    for (cs, ct) in [(6, 10), (8, 8), (12, 5)]:
        for masked in [False, True]:
            N = 7
            s32 = torch.randn(N, cs).float()
            t32 = (torch.randn(N, ct) * 1.5 + 0.3).float()
            P32 = (torch.randn(ct, cs) / cs ** 0.5).float() if cs != ct else None
            targets = torch.arange(N, dtype=torch.int32)
            if masked:
                targets[1] = IGNORE
                targets[4] = IGNORE
            keep = targets != IGNORE
            s = s32.double().requires_grad_(True)
            P = P32.double().requires_grad_(True) if P32 is not None else None
            sp = s @ P.T if P is not None else s
            t = t32.double()
            if kind == 'cosine':
                loss = (1 - F.cosine_similarity(sp[keep], t[keep], dim=-1)).mean()
            else:
                loss = F.mse_loss(sp[keep], t[keep])
            scale = 0.7
            (scale * loss).backward()
            tensors = {'student': s32, 'teacher': t32, 'targets': targets, 'dStudent': s.grad, 'loss': loss.detach().reshape(1)}
            if P is not None:
                tensors['weight'] = P32
                tensors['dWeight'] = P.grad
            w.case(f'{kind}-{cs}x{ct}{"-masked" if masked else ""}', {'kind': kind, 'N': N, 'Cs': cs, 'Ct': ct, 'gradScale': scale, 'ignoreIndex': IGNORE}, tensors)
w.save()
print(f'wrote {len(w.cases)} cases to {out}.json')
