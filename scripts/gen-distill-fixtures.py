# Writes test/fixtures/distill/{losses,sparse,processing}.json/.bin: KD/CE loss values and
# gradients w.r.t. the student logits (torch autograd, float64) and teacher logit processing.
# Run: /usr/bin/python3 scripts/gen-distill-fixtures.py   (PyTorch 1.13; deterministic, seed 1234)
# Inputs are rounded to float32 first, so the float64 references are exact for the stored inputs.
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'distill')
IGNORE = -100
GEN = 'scripts/gen-distill-fixtures.py'


def f32(a):
    """Rounds to float32 and returns float64 (the exact value the test reads back)."""
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64))


# ---------------------------------------------------------------- divergences (per row, sum over last dim)
def divergence(kind, lp, lq, beta=None, lam=None):
    """lp teacher log-probs, lq student log-probs (same support, last dim)."""
    p, q = lp.exp(), lq.exp()
    if kind == 'forward-kl':
        return F.kl_div(lq, lp, reduction='none', log_target=True).sum(-1)
    if kind == 'reverse-kl':
        return F.kl_div(lp, lq, reduction='none', log_target=True).sum(-1)
    if kind == 'jsd':  # TRL GKD generalized_jsd_loss, endpoints special-cased as TRL does
        if beta == 0:
            return F.kl_div(lq, lp, reduction='none', log_target=True).sum(-1)
        if beta == 1:
            return F.kl_div(lp, lq, reduction='none', log_target=True).sum(-1)
        b = torch.tensor(beta)
        lm = torch.logsumexp(torch.stack([lq + torch.log(1 - b), lp + torch.log(b)]), dim=0)
        kl_t = F.kl_div(lm, lp, reduction='none', log_target=True)
        kl_s = F.kl_div(lm, lq, reduction='none', log_target=True)
        return (beta * kl_t + (1 - beta) * kl_s).sum(-1)
    if kind == 'skew-forward-kl':  # DistiLLM SKL: KL(p || λp + (1−λ)q)
        m = lam * p + (1 - lam) * q
        return (p * (lp - m.log())).sum(-1)
    if kind == 'skew-reverse-kl':  # DistiLLM SRKL: KL(q || λq + (1−λ)p)
        m = lam * q + (1 - lam) * p
        return (q * (lq - m.log())).sum(-1)
    if kind == 'tvd':
        return 0.5 * (p - q).abs().sum(-1)
    if kind == 'soft-ce':
        return -(p * lq).sum(-1)
    raise ValueError(kind)


DIVS = [('forward-kl', {}), ('reverse-kl', {}), ('jsd', {'beta': 0.0}), ('jsd', {'beta': 0.5}),
        ('jsd', {'beta': 1.0}), ('skew-forward-kl', {'lambda': 0.1}), ('skew-forward-kl', {'lambda': 0.5}),
        ('skew-reverse-kl', {'lambda': 0.1}), ('skew-reverse-kl', {'lambda': 0.5}), ('tvd', {}), ('soft-ce', {})]


def case_name(kind, extra):
    return kind + ''.join(f'-{k[0]}{v}' for k, v in extra.items())


def reduce_mean(row_losses, targets):
    mask = (targets != IGNORE).double()
    n = int(mask.sum())
    return (row_losses * mask).sum() / n if n > 0 else (row_losses * mask).sum() * 0.0


def dense_kd_rows(kind, extra, z, teacher, T, scale_t2, teacher_is_logprobs=False):
    s = z / T
    if kind == 'mse':
        rows = ((s - teacher / T) ** 2).mean(-1)
    else:
        lp = teacher.log_softmax(-1) if teacher_is_logprobs else (teacher / T).log_softmax(-1)
        rows = divergence(kind, lp, s.log_softmax(-1), extra.get('beta'), extra.get('lambda'))
    return rows * (T * T if scale_t2 else 1.0)


def run(fn, z0):
    """fn(z) -> (scalar loss, row losses); returns loss, rows, dz (all float64)."""
    z = z0.clone().requires_grad_(True)
    loss, rows = fn(z)
    loss.backward()
    return loss.detach(), rows.detach(), z.grad.detach()


# ---------------------------------------------------------------- teacher processing reference
def process(logits, T=1.0, clip=None, eps=0.0, top_p=1.0, k=None, tail_bucket=True):
    x = logits / T
    if clip is not None:
        x = x.clamp(-clip, clip)
    V = x.shape[-1]
    lp = x.log_softmax(-1)
    if eps > 0:
        lp = ((1 - eps) * lp.exp() + eps / V).log()
    if k is None:
        return lp
    N = x.shape[0]
    ids = torch.full((N, k), -1, dtype=torch.int64)
    out = torch.full((N, k), float('-inf'))
    tail = torch.zeros(N)
    for i in range(N):
        vals, order = torch.sort(lp[i], descending=True, stable=True)
        cum = vals.exp().cumsum(0)
        m = k
        if top_p < 1:
            reach = (cum >= top_p).nonzero()
            m = min(k, int(reach[0]) + 1) if len(reach) else k
        keep = order[:m]
        dropped = torch.ones(V, dtype=torch.bool)
        dropped[keep] = False
        ids[i, :m] = keep
        if tail_bucket:
            out[i, :m] = vals[:m]
            tail[i] = lp[i][dropped].exp().sum()
        else:
            out[i, :m] = vals[:m] - vals[:m].exp().sum().log()
    return ids, out, tail


def sparse_kd_rows(kind, extra, z, ids, lpk, tail, mode, T, scale_t2):
    s = z / T
    N, V = s.shape
    rows = []
    for i in range(N):
        valid = ids[i] >= 0
        idv, lpv = ids[i][valid], lpk[i][valid]
        if mode == 'ignore':
            lq = s[i][idv].log_softmax(-1)
            lp = lpv - torch.logsumexp(lpv, 0)
        elif mode == 'bucket':
            lq_all = s[i].log_softmax(-1)
            others = torch.ones(V, dtype=torch.bool)
            others[idv] = False
            lq = torch.cat([lq_all[idv], torch.logsumexp(lq_all[others], 0).reshape(1)])
            lp = torch.cat([lpv, tail[i].log().reshape(1)])
        else:
            lq = s[i].log_softmax(-1)
            lp = torch.full((V,), float(torch.log(tail[i] / (V - len(idv)))))
            lp[idv] = lpv
        rows.append(divergence(kind, lp, lq, extra.get('beta'), extra.get('lambda')))
    return torch.stack(rows) * (T * T if scale_t2 else 1.0)


def make_inputs(gen, N, V, n_masked):
    z = f32(torch.randn(N, V, generator=gen) * 2)
    t = f32(torch.randn(N, V, generator=gen) * 3)
    z[0] = f32(z[0] * 15)  # one wide row: the online max must keep exp() in range
    t[0] = f32(t[0] * 10)
    y = torch.randint(0, V, (N,), generator=gen)
    y[torch.randperm(N, generator=gen)[:n_masked]] = IGNORE
    return z, t, y


def save_case(w, name, params, loss, rows, grad):
    w.case(name, params, {'loss': loss.reshape(1), 'rowLoss': rows, 'grad': grad})


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)

    # ---- dense losses: every divergence + mse + hard CE, T ∈ {1,2}, V ∈ {5,257,1000}
    w = FixtureWriter(os.path.join(OUT, 'losses'), GEN)
    for V, N, n_masked in [(5, 6, 2), (257, 6, 2), (1000, 4, 1)]:
        z, t, y = make_inputs(gen, N, V, n_masked)
        inp = f'V{V}'
        w.case('inputs-' + inp, {'N': N, 'V': V}, {'student': z, 'teacher': t, 'targets': y})
        ymask = torch.full((N,), IGNORE)
        loss, rows, g = run(lambda zz: (lambda r: (reduce_mean(r, y), r))(
            torch.where(y != IGNORE, F.cross_entropy(zz, y.clamp(min=0), reduction='none'), torch.zeros(N))), z)
        save_case(w, f'ce-{inp}', {'inputs': inp, 'kind': 'ce', 'T': 1, 'scaleT2': True, 'masked': False}, loss, rows, g)
        for kind, extra in DIVS + [('mse', {})]:
            for T in [1.0, 2.0]:
                for scale_t2 in ([True, False] if T == 2.0 and V == 257 else [True]):
                    fn = lambda zz, T=T, st=scale_t2, kind=kind, extra=extra: (lambda r: (reduce_mean(r, y), r * (y != IGNORE)))(
                        dense_kd_rows(kind, extra, zz, t, T, st))
                    loss, rows, g = run(fn, z)
                    params = {'inputs': inp, 'kind': kind, 'T': T, 'scaleT2': scale_t2, 'masked': False, **extra}
                    save_case(w, f'{case_name(kind, extra)}-T{T:g}-{inp}' + ('' if scale_t2 else '-noT2'), params, loss, rows, g)
        if V == 257:  # all rows masked: loss 0, gradient 0, no NaN
            for kind, extra in DIVS + [('mse', {}), ('ce', {})]:
                if kind == 'ce':
                    rows_fn = lambda zz: F.cross_entropy(zz, y.clamp(min=0), reduction='none')
                else:
                    rows_fn = lambda zz, kind=kind, extra=extra: dense_kd_rows(kind, extra, zz, t, 2.0, True)
                loss, rows, g = run(lambda zz: (lambda r: (reduce_mean(r, ymask), r * (ymask != IGNORE)))(rows_fn(zz)), z)
                params = {'inputs': inp, 'kind': kind, 'T': 2.0, 'scaleT2': True, 'masked': True, **extra}
                save_case(w, f'{case_name(kind, extra)}-allmasked-{inp}', params, loss, rows, g)
            # processed dense teacher (label smoothing 0.1, T=2 applied by the processor), loss T=2 on the student only
            lpt = f32(process(t, T=2.0, eps=0.1))
            w.case('inputs-logprobs-V257', {'N': N, 'V': V}, {'teacher': lpt})
            for kind, extra in [('forward-kl', {}), ('jsd', {'beta': 0.5})]:
                fn = lambda zz, kind=kind, extra=extra: (lambda r: (reduce_mean(r, y), r * (y != IGNORE)))(
                    dense_kd_rows(kind, extra, zz, lpt, 2.0, True, teacher_is_logprobs=True))
                loss, rows, g = run(fn, z)
                params = {'inputs': inp, 'kind': kind, 'T': 2.0, 'scaleT2': True, 'masked': False, 'teacherKind': 'logprobs', **extra}
                save_case(w, f'{case_name(kind, extra)}-logprobs-T2-{inp}', params, loss, rows, g)
            # α mix: 0.3·CE + 0.7·forward-KL(T=2)
            def mix(zz):
                ce = torch.where(y != IGNORE, F.cross_entropy(zz, y.clamp(min=0), reduction='none'), torch.zeros(N))
                kd = dense_kd_rows('forward-kl', {}, zz, t, 2.0, True)
                return 0.3 * reduce_mean(ce, y) + 0.7 * reduce_mean(kd, y), kd * (y != IGNORE)
            loss, rows, g = run(mix, z)
            save_case(w, f'mix-a0.3-forward-kl-T2-{inp}', {'inputs': inp, 'kind': 'mix', 'alpha': 0.3, 'T': 2.0, 'scaleT2': True, 'masked': False}, loss, rows, g)
    w.save()

    # ---- sparse teachers: processed top-k (+ top-p on V=257), each tail mode, every divergence
    w = FixtureWriter(os.path.join(OUT, 'sparse'), GEN)
    for V, N, k, top_p in [(5, 5, 3, 1.0), (257, 4, 16, 0.9)]:
        z, t, y = make_inputs(gen, N, V, 1)
        inp = f'V{V}'
        for tb in [True, False]:
            ids, lpk, tail = process(t, T=1.5, k=k, top_p=top_p, tail_bucket=tb)
            lpk, tail = f32(lpk), f32(tail)
            w.case(f'inputs-{inp}-{"bucket" if tb else "renorm"}', {'N': N, 'V': V, 'k': k},
                   {'student': z, 'targets': y, 'ids': ids, 'logProbs': lpk, 'tail': tail})
            for mode in (['ignore', 'bucket', 'uniform'] if tb else ['ignore']):
                for kind, extra in DIVS:
                    for T in [1.0, 2.0]:
                        fn = lambda zz, T=T, kind=kind, extra=extra, mode=mode: (lambda r: (reduce_mean(r, y), r * (y != IGNORE)))(
                            sparse_kd_rows(kind, extra, zz, ids, lpk, tail, mode, T, True))
                        loss, rows, g = run(fn, z)
                        params = {'inputs': f'{inp}-{"bucket" if tb else "renorm"}', 'kind': kind, 'T': T, 'tailMode': mode, **extra}
                        save_case(w, f'{case_name(kind, extra)}-T{T:g}-{mode}-{inp}' + ('' if tb else '-renorm'), params, loss, rows, g)
        if V == 257:
            ids, lpk, tail = process(t, T=1.5, k=k, top_p=top_p, tail_bucket=True)
            lpk, tail = f32(lpk), f32(tail)
            def mix(zz):
                ce = torch.where(y != IGNORE, F.cross_entropy(zz, y.clamp(min=0), reduction='none'), torch.zeros(N))
                kd = sparse_kd_rows('jsd', {'beta': 0.5}, zz, ids, lpk, tail, 'bucket', 2.0, True)
                return 0.3 * reduce_mean(ce, y) + 0.7 * reduce_mean(kd, y), kd * (y != IGNORE)
            loss, rows, g = run(mix, z)
            save_case(w, f'mix-a0.3-jsd-bucket-T2-{inp}', {'inputs': f'{inp}-bucket', 'kind': 'mix', 'alpha': 0.3, 'T': 2.0, 'tailMode': 'bucket', 'beta': 0.5}, loss, rows, g)
    w.save()

    # ---- teacher logit processing
    w = FixtureWriter(os.path.join(OUT, 'processing'), GEN)
    V, N = 257, 5
    t = f32(torch.randn(N, V, generator=gen) * 3)
    t[1, 10:20] = t[1].max() + 1.0  # ten tied top ids: the lower id must rank first
    t[2] = f32(t[2] * 12)            # wide row: clipping bites
    w.case('inputs', {'N': N, 'V': V}, {'logits': t})
    dense_cfgs = [('plain', {}), ('T2', {'T': 2.0}), ('clip4', {'clip': 4.0}), ('T2-clip3-ls0.1', {'T': 2.0, 'clip': 3.0, 'eps': 0.1})]
    for name, cfg in dense_cfgs:
        w.case('dense-' + name, {'T': cfg.get('T', 1.0), 'clip': cfg.get('clip', 0), 'eps': cfg.get('eps', 0.0)},
               {'logProbs': process(t, **cfg)})
    sparse_cfgs = [('k8', {'k': 8}), ('k16-p0.8', {'k': 16, 'top_p': 0.8}), ('k8-p0.5-T2-ls0.05', {'k': 8, 'top_p': 0.5, 'T': 2.0, 'eps': 0.05}),
                   ('k12-clip2', {'k': 12, 'clip': 2.0}), ('k8-p0.9-renorm', {'k': 8, 'top_p': 0.9, 'tail_bucket': False}),
                   ('k1', {'k': 1})]
    for name, cfg in sparse_cfgs:
        ids, lpk, tail = process(t, **cfg)
        w.case('sparse-' + name, {'T': cfg.get('T', 1.0), 'clip': cfg.get('clip', 0), 'eps': cfg.get('eps', 0.0), 'k': cfg['k'],
                                  'topP': cfg.get('top_p', 1.0), 'tailBucket': cfg.get('tail_bucket', True)},
               {'ids': ids, 'logProbs': lpk, 'tail': tail})
    w.save()


if __name__ == '__main__':
    main()
