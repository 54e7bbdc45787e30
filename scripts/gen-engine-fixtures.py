# Writes test/fixtures/engine/<op>.json/.bin: inputs, outputs and every gradient of each Backend
# op (src/engine/backend.ts), computed by PyTorch autograd in float64 and stored as float32.
# Run: /usr/bin/python3 scripts/gen-engine-fixtures.py   (PyTorch 1.13; fixed seeds, no randomness
# in what it prints). It does not test anything itself: test/engine-parity.test.ts does.
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'engine')
GEN = 'scripts/gen-engine-fixtures.py'
D = torch.float64


def rng(seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def randn(g, *shape, scale=1.0):
    """float32 values (so the f32 inputs stored are exactly what float64 math starts from)."""
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * scale).to(D)


def leaf(x):
    return x.clone().requires_grad_(True)


def writer(op):
    return FixtureWriter(os.path.join(OUT, op), GEN)


# ------------------------------------------------------------------ gemm
def gen_gemm():
    w = writer('gemm')
    g = rng(1)
    cases = []
    for (M, N, K) in [(1, 1, 1), (3, 17, 64), (17, 3, 257), (64, 64, 64), (257, 3, 17), (1, 257, 3)]:
        for layout in ('NN', 'NT', 'TN'):
            cases.append((M, N, K, layout, 1.0, 0.0))
    for layout in ('NN', 'NT', 'TN'):
        for alpha, beta in [(0.5, 0.0), (1.0, 1.0), (-1.5, 0.25)]:
            cases.append((17, 64, 257, layout, alpha, beta))
    cases.append((3, 17, 64, 'TT', 1.0, 0.0))
    cases.append((3, 4, 0, 'NN', 1.0, 0.5))  # K = 0: C = beta * C
    cases.append((257, 257, 257, 'NN', 1.0, 0.0))
    cases.append((257, 257, 257, 'TN', 1.0, 1.0))  # the dW += dYᵀ·X shape of a training step
    for (M, N, K, layout, alpha, beta) in cases:
        tA, tB = layout[0] == 'T', layout[1] == 'T'
        a = randn(g, *((K, M) if tA else (M, K)))
        b = randn(g, *((N, K) if tB else (K, N)))
        opA = a.t() if tA else a
        opB = b.t() if tB else b
        tensors = {'a': a, 'b': b}
        out = alpha * (opA @ opB)
        if beta != 0:
            c0 = randn(g, M, N)
            tensors['c_in'] = c0
            out = out + beta * c0
        tensors['c'] = out
        w.case(f'{M}x{N}x{K}_{layout}_a{alpha:g}_b{beta:g}',
               {'M': M, 'N': N, 'K': K, 'transA': tA, 'transB': tB, 'alpha': alpha, 'beta': beta}, tensors)
    return w


# ------------------------------------------------------------------ gemm-bf16
def gen_gemm_bf16():
    """packBf16 + gemmBf16: c (M,N) = bf16(a) (M,K) · bf16(w)[0:N]ᵀ + beta·c_in; w has PN >= N rows
    (a padded head). bf16 is torch's .bfloat16() (round to nearest even); the sum is float64."""
    w = writer('gemm-bf16')
    g = rng(11)
    cases = [(1, 1, 1, 1, 0.0), (5, 7, 3, 9, 0.0), (33, 47, 65, 47, 1.0), (17, 64, 257, 70, 0.5),
             (40, 300, 288, 310, 0.0), (64, 32, 32, 32, 0.0)]
    for (M, N, K, PN, beta) in cases:
        a = randn(g, M, K)
        wt = randn(g, PN, K, scale=0.5)
        if M == 64:  # exact ties: 1 + 2^-8 rounds down to 1 (even), 1 + 3*2^-8 up to 1 + 2^-6
            a[0, :4] = torch.tensor([1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), 2 ** -130], dtype=D)
        ab = a.float().bfloat16().to(D)
        wb = wt.float().bfloat16().to(D)
        out = ab @ wb[:N].t()
        tensors = {'a': a, 'w': wt}
        if PN * K <= 20000:  # the rounded weights themselves (packBf16 of ref), small cases only
            tensors['w_bf16'] = wb
        if beta != 0:
            c0 = randn(g, M, N)
            tensors['c_in'] = c0
            out = out + beta * c0
        tensors['c'] = out
        w.case(f'{M}x{N}x{K}_rows{PN}_b{beta:g}', {'M': M, 'N': N, 'K': K, 'packedN': PN, 'beta': beta}, tensors)
    return w


# ------------------------------------------------------------------ embedding
def gen_embedding():
    w = writer('embedding')
    g = rng(2)
    for (N, V, C) in [(1, 1, 1), (5, 3, 17), (64, 257, 64), (17, 1000, 3)]:
        table = leaf(randn(g, V, C))
        # Repeated ids on purpose: the backward must add every row that hits the same id.
        ids = torch.randint(0, V, (N,), generator=g)
        if N >= 3:
            ids[2] = ids[0]
        out = F.embedding(ids, table)
        d_out = randn(g, N, C)
        out.backward(d_out)
        w.case(f'N{N}_V{V}_C{C}', {'N': N, 'V': V, 'C': C},
               {'ids': ids, 'table': table, 'out': out, 'dOut': d_out, 'dTable': table.grad})
    return w


# ------------------------------------------------------------------ norms
NORM_SIZES = [(1, 1), (5, 3), (17, 64), (7, 257), (1, 257)]


def gen_rmsnorm():
    w = writer('rmsnorm')
    g = rng(3)
    for (N, C), eps in zip(NORM_SIZES, [1e-5, 1e-5, 1e-6, 1e-5, 1e-5]):
        x = leaf(randn(g, N, C, scale=2.0))
        wt = leaf(1 + 0.1 * randn(g, C))
        rstd = torch.rsqrt(x.pow(2).mean(-1) + eps)
        out = x * rstd[:, None] * wt
        d_out = randn(g, N, C)
        out.backward(d_out)
        w.case(f'N{N}_C{C}', {'N': N, 'C': C, 'eps': eps},
               {'inp': x, 'weight': wt, 'out': out, 'rstd': rstd, 'dOut': d_out,
                'dInp': x.grad, 'dWeight': wt.grad})
    return w


def gen_layernorm():
    w = writer('layernorm')
    g = rng(4)
    for (N, C), eps in zip(NORM_SIZES, [1e-5, 1e-5, 1e-6, 1e-5, 1e-5]):
        x = leaf(randn(g, N, C, scale=2.0) + 0.5)
        wt = leaf(1 + 0.1 * randn(g, C))
        bias = leaf(0.1 * randn(g, C))
        out = F.layer_norm(x, (C,), wt, bias, eps)
        mean = x.mean(-1)
        rstd = torch.rsqrt(x.var(-1, unbiased=False) + eps)
        d_out = randn(g, N, C)
        out.backward(d_out)
        w.case(f'N{N}_C{C}', {'N': N, 'C': C, 'eps': eps},
               {'inp': x, 'weight': wt, 'bias': bias, 'out': out, 'mean': mean, 'rstd': rstd,
                'dOut': d_out, 'dInp': x.grad, 'dWeight': wt.grad, 'dBias': bias.grad})
    return w


# ------------------------------------------------------------------ rope
def rope_tables(T, HS, theta, pos0):
    """Same arithmetic as src/engine/rope-tables.ts: freq and angle in float32, cos/sin of that."""
    half = HS // 2
    i = np.arange(half, dtype=np.float64)
    expo = (2 * i / HS).astype(np.float32).astype(np.float64)
    freq = (1 / np.power(float(theta), expo).astype(np.float32).astype(np.float64)).astype(np.float32)
    t = (pos0 + np.arange(T)).astype(np.float32)
    angle = (t[:, None] * freq[None, :]).astype(np.float32)
    return np.cos(angle.astype(np.float64)), np.sin(angle.astype(np.float64))


def rope_apply(x, cos, sin, mode):
    """x (B,T,NH,HS) float64; cos/sin (T,HS/2)."""
    half = x.shape[-1] // 2
    c = cos[None, :, None, :]
    s = sin[None, :, None, :]
    if mode == 'interleaved':
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2)
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)


def gen_rope():
    w = writer('rope')
    g = rng(5)
    for (B, T, NH, HS, mode, pos0, theta) in [
            (1, 1, 1, 2, 'interleaved', 0, 10000.0),
            (2, 5, 3, 8, 'interleaved', 7, 10000.0),
            (2, 5, 3, 8, 'half', 7, 10000.0),
            (1, 17, 4, 64, 'half', 0, 10000.0),
            (1, 17, 4, 64, 'interleaved', 100, 10000.0),
            (3, 3, 2, 16, 'half', 500, 500000.0)]:
        cos_np, sin_np = rope_tables(T, HS, theta, pos0)
        # Round the tables to f32 first: the kernels read f32 tables, so float64 math starts there.
        cos = torch.tensor(cos_np.astype(np.float32), dtype=D)
        sin = torch.tensor(sin_np.astype(np.float32), dtype=D)
        x = leaf(randn(g, B, T, NH, HS))
        out = rope_apply(x, cos, sin, mode)
        d_out = randn(g, B, T, NH, HS)
        out.backward(d_out)
        w.case(f'B{B}_T{T}_NH{NH}_HS{HS}_{mode}_pos{pos0}',
               {'B': B, 'T': T, 'NH': NH, 'HS': HS, 'mode': mode, 'pos0': pos0, 'theta': theta},
               {'inp': x, 'cos': cos, 'sin': sin, 'out': out, 'dOut': d_out, 'dInp': x.grad})
    return w


# ------------------------------------------------------------------ attention
def gen_attention():
    w = writer('attention')
    g = rng(6)
    for (B, Tq, Tk, NH, NKV, HS) in [
            (1, 1, 1, 1, 1, 8),
            (2, 5, 5, 4, 2, 8),
            (1, 17, 17, 6, 2, 16),
            (1, 3, 17, 4, 1, 16),    # Tq < Tk: the last 3 positions of a 17-token context
            (1, 1, 9, 2, 2, 64),     # one KV-cache decode step
            (2, 8, 8, 4, 4, 64),     # plain multi-head
            (1, 16, 16, 8, 2, 64)]:
        q = leaf(randn(g, B, Tq, NH, HS))
        k = leaf(randn(g, B, Tk, NKV, HS))
        v = leaf(randn(g, B, Tk, NKV, HS))
        rep = NH // NKV
        qh = q.permute(0, 2, 1, 3)                                    # B,NH,Tq,HS
        kh = k.permute(0, 2, 1, 3).repeat_interleave(rep, dim=1)      # B,NH,Tk,HS
        vh = v.permute(0, 2, 1, 3).repeat_interleave(rep, dim=1)
        scores = (qh @ kh.transpose(-1, -2)) / math.sqrt(HS)          # B,NH,Tq,Tk
        pos = torch.arange(Tq)[:, None] + (Tk - Tq)
        mask = torch.arange(Tk)[None, :] <= pos
        scores = scores.masked_fill(~mask, float('-inf'))
        lse = torch.logsumexp(scores, dim=-1)                          # B,NH,Tq
        out = (torch.softmax(scores, dim=-1) @ vh).permute(0, 2, 1, 3)  # B,Tq,NH,HS
        d_out = randn(g, B, Tq, NH, HS)
        out.backward(d_out)
        w.case(f'B{B}_Tq{Tq}_Tk{Tk}_NH{NH}_NKV{NKV}_HS{HS}',
               {'B': B, 'Tq': Tq, 'Tk': Tk, 'NH': NH, 'NKV': NKV, 'HS': HS},
               {'q': q, 'k': k, 'v': v, 'out': out, 'lse': lse, 'dOut': d_out,
                'dq': q.grad, 'dk': k.grad, 'dv': v.grad})
    return w


# ------------------------------------------------------------------ activations
def gen_activations():
    w = writer('activations')
    g = rng(7)
    for n in [1, 17, 257, 1000]:
        x = leaf(randn(g, n, scale=3.0))
        gate = leaf(randn(g, n, scale=3.0))
        up = leaf(randn(g, n))
        d_out = randn(g, n)
        silu = F.silu(x)
        (dsilu,) = torch.autograd.grad(silu, x, d_out)
        gelu = F.gelu(x, approximate='tanh')
        (dgelu,) = torch.autograd.grad(gelu, x, d_out)
        swiglu = F.silu(gate) * up
        dgate, dup = torch.autograd.grad(swiglu, (gate, up), d_out)
        w.case(f'n{n}', {'n': n},
               {'inp': x, 'dOut': d_out, 'silu': silu, 'dSilu': dsilu, 'gelu': gelu, 'dGelu': dgelu,
                'gate': gate, 'up': up, 'swiglu': swiglu, 'dGate': dgate, 'dUp': dup})
    return w


# ------------------------------------------------------------------ cross-entropy
def gen_cross_entropy():
    w = writer('cross-entropy')
    g = rng(8)
    for (N, V, ignore, ignored_rows, scale) in [
            (1, 1, -100, [], 1.0),
            (4, 3, -100, [1], 1.0),
            (7, 257, -100, [0, 5], 2.0),
            (5, 17, 2, [3], 1.0),         # ignoreIndex inside [0,V): target 2 means "ignore"
            (5, 1031, -1, [2], 3.0),      # V > 1000 and not a multiple of any chunk size
            (3, 300, -100, [0, 1, 2], 1.0),  # every row ignored: all losses 0, all grads 0
            (4, 1000, -100, [], 30.0)]:   # large logits: the online max must rescale
        logits = leaf(randn(g, N, V, scale=scale))
        targets = torch.randint(0, V, (N,), generator=g)
        if ignore >= 0:
            targets[targets == ignore] = (ignore + 1) % V
        for r in ignored_rows:
            targets[r] = ignore
        losses = F.cross_entropy(logits, targets, reduction='none', ignore_index=ignore)
        lse = torch.logsumexp(logits, dim=-1)
        d_losses = randn(g, N).abs() + 0.5
        losses.backward(d_losses)
        w.case(f'N{N}_V{V}_ignore{ignore}_x{scale:g}', {'N': N, 'V': V, 'ignoreIndex': ignore},
               {'logits': logits, 'targets': targets, 'losses': losses, 'lse': lse,
                'dLosses': d_losses, 'dLogits': logits.grad})
    return w


# ------------------------------------------------------------------ adamw
def gen_adamw():
    w = writer('adamw')
    g = rng(9)
    for (n, steps, lr, b1, b2, eps, wd) in [
            (1, 1, 1e-3, 0.9, 0.999, 1e-8, 0.0),
            (257, 5, 1e-2, 0.9, 0.95, 1e-8, 0.1),
            (1000, 3, 3e-4, 0.9, 0.999, 1e-6, 0.01),
            (17, 4, 0.1, 0.8, 0.99, 1e-8, 0.5)]:
        p0 = randn(g, n)
        grads = randn(g, steps, n, scale=0.1)
        p = torch.nn.Parameter(p0.clone())
        opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
        ps, ms, vs = [], [], []
        for s in range(steps):
            p.grad = grads[s].clone()
            opt.step()
            st = opt.state[p]
            ps.append(p.detach().clone())
            ms.append(st['exp_avg'].clone())
            vs.append(st['exp_avg_sq'].clone())
        w.case(f'n{n}_steps{steps}_lr{lr:g}_wd{wd:g}',
               {'n': n, 'steps': steps, 'lr': lr, 'beta1': b1, 'beta2': b2, 'eps': eps, 'weightDecay': wd},
               {'params': p0, 'grads': grads, 'paramsAfter': torch.stack(ps), 'mAfter': torch.stack(ms),
                'vAfter': torch.stack(vs)})
    return w


# ------------------------------------------------------------------ topk
def gen_topk():
    w = writer('topk')
    g = rng(10)
    for (N, V, k, ties) in [(1, 1, 1, False), (3, 17, 1, False), (3, 17, 5, False), (3, 17, 17, False),
                            (4, 257, 5, False), (2, 1000, 5, False), (4, 33, 5, True), (2, 33, 33, True)]:
        if ties:  # few distinct values: the contract says equal values come lower index first
            x = torch.randint(0, 4, (N, V), generator=g).to(D)
        else:
            x = randn(g, N, V)
        # The contract's order: a stable sort by value descending (torch.topk's tie order is unspecified).
        idx = torch.tensor(np.argsort(-x.numpy(), axis=1, kind='stable')[:, :k].copy())
        xl = leaf(x)
        values = torch.gather(xl, 1, idx)
        tv, _ = torch.topk(x, k, dim=1)
        assert torch.equal(tv, values.detach()), 'topk values disagree with the stable sort'
        d_values = randn(g, N, k)
        values.backward(d_values)
        w.case(f'N{N}_V{V}_k{k}' + ('_ties' if ties else ''), {'N': N, 'V': V, 'k': k},
               {'inp': x, 'values': values, 'indices': idx, 'dValues': d_values, 'dInp': xl.grad})
    return w


def main():
    os.makedirs(OUT, exist_ok=True)
    total = 0
    for gen in [gen_gemm, gen_gemm_bf16, gen_embedding, gen_rmsnorm, gen_layernorm, gen_rope, gen_attention,
                gen_activations, gen_cross_entropy, gen_adamw, gen_topk]:
        w = gen()
        w.save()
        size = os.path.getsize(w.path + '.bin') + os.path.getsize(w.path + '.json')
        total += size
        print(f'{os.path.basename(w.path):14s} {len(w.cases):3d} cases {size:>9d} bytes')
    print(f'{"total":14s}           {total:>9d} bytes')


if __name__ == '__main__':
    torch.use_deterministic_algorithms(True)
    main()
