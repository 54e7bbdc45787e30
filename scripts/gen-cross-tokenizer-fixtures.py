# Writes test/fixtures/distill/cross-tokenizer.json/.bin: the cross-tokenizer KD term of
# src/distill/cross-tokenizer-loss.ts (exact-map, span = exact-map + GOLD's merged span probability
# with ULD where unaligned, uld) and its gradient w.r.t. the student logits, by torch autograd in
# float64, from teacher logits over a different vocabulary, an alignment and a piece map.
# Run: /usr/bin/python3 scripts/gen-cross-tokenizer-fixtures.py   (PyTorch 1.13; seed 1818)
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402
from importlib import import_module  # noqa: E402

distill = import_module('gen-distill-fixtures')
f32 = distill.f32
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'distill')
IGNORE = -1


def cross_kd(z, tlp, aligned, prefix, span_end, t_next, pmap, y, method, T, uld_w):
    """Mean over unmasked rows of the per-row term (× T², scaleT2 on); returns (loss, rows)."""
    N, V = z.shape
    K = tlp.shape[1]
    s = z / T
    lq_all = s.log_softmax(-1)
    rows = []
    for i in range(N):
        if int(y[i]) == IGNORE:
            rows.append(torch.zeros(()))
            continue
        j = int(aligned[i])
        if method != 'uld' and j >= 0:
            merged = None
            if method == 'span' and int(span_end[i]) > j:
                merged = sum(tlp[r, int(t_next[r])] for r in range(j, int(span_end[i])))
            ids, lps = [], []
            for v in range(V):
                if v == int(y[i]) and merged is not None:
                    ids.append(v); lps.append(merged)
                elif int(pmap[v]) >= 0:
                    ids.append(v); lps.append(tlp[j, int(pmap[v])])
            lp = torch.stack(lps)
            mass = lp.exp().sum()
            if mass > 1:
                lp = lp - mass.log()
                tail = torch.zeros(())
            else:
                tail = 1 - mass
            idt = torch.tensor(ids)
            others = torch.ones(V, dtype=torch.bool)
            others[idt] = False
            # forward KL with a tail bucket (src/engine/ref/kd-sparse.ts 'bucket'); a 0 tail adds nothing
            row = (lp.exp() * (lp - lq_all[i][idt])).sum()
            if tail > 0:
                row = row + tail * (tail.log() - torch.logsumexp(lq_all[i][others], 0))
            rows.append(row * T * T)
            continue
        p = -1 if method == 'exact-map' else int(prefix[i])
        if p < 0:
            rows.append(torch.zeros(()))
            continue
        L = max(V, K)
        ps = torch.cat([torch.sort(lq_all[i].exp(), descending=True).values, torch.zeros(L - V)])
        pt = torch.cat([torch.sort(tlp[p].exp(), descending=True).values, torch.zeros(L - K)])
        rows.append((ps - pt).abs().sum() * uld_w * T * T)
    rows = torch.stack(rows)
    n = int((y != IGNORE).sum())
    return rows.sum() / n, rows


def main():
    gen = torch.Generator().manual_seed(1818)
    w = FixtureWriter(os.path.join(OUT, 'cross-tokenizer'), 'scripts/gen-cross-tokenizer-fixtures.py')
    N, M = 8, 7
    for V, K in ((12, 16), (12, 9)):
        z = f32(torch.randn(N, V, generator=gen) * 2)
        t = f32(torch.randn(M, K, generator=gen) * 2)
        pmap = torch.full((V,), -1, dtype=torch.int64)
        chosen = torch.randperm(K, generator=gen)[:6]
        for a, v in enumerate(torch.randperm(V, generator=gen)[:6]):
            pmap[v] = chosen[a]
        y = torch.randint(0, V, (N,), generator=gen)
        y[5] = IGNORE
        # rows 0,2,3,6 aligned (row 3: a target the teacher spells with rows 3..4; row 6 with 5..6),
        # the others only a prefix row (row 1: none).
        aligned = torch.tensor([0, -1, 2, 3, -1, -1, 5, -1])
        prefix = torch.tensor([0, -1, 2, 3, 3, 4, 5, 6])
        span_end = torch.tensor([-1, -1, -1, 5, -1, -1, 6, -1])
        t_next = torch.randint(0, K, (M,), generator=gen)
        # row 6's target unmapped and teacher row 5's mass all on mapped ids: merged span mass > 1
        y[6] = int((pmap < 0).nonzero()[0])
        t[5] = f32(torch.where(torch.isin(torch.arange(K), pmap[pmap >= 0]), torch.full((K,), 8.0), torch.full((K,), -8.0)))
        t_next[5] = int(pmap[pmap >= 0][0])
        T = 1.5
        tlp = (t / T).log_softmax(-1)
        for method in ('exact-map', 'span', 'uld'):
            zz = z.clone().requires_grad_(True)
            loss, rows = cross_kd(zz, tlp, aligned, prefix, span_end, t_next, pmap, y, method, T, 0.7)
            loss.backward()
            w.case(f'{method}-V{V}-K{K}', {'method': method, 'T': T, 'uldWeight': 0.7, 'N': N, 'V': V, 'M': M, 'K': K}, {
                'student': z, 'teacher': t, 'map': pmap, 'targets': y, 'aligned': aligned, 'prefix': prefix,
                'spanEnd': span_end, 'teacherNext': t_next, 'loss': loss.detach().reshape(1), 'rowKd': rows.detach(), 'grad': zz.grad,
            })
    w.save()


if __name__ == '__main__':
    main()
