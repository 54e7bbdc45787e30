# Writes test/fixtures/train/trajectory.json/.bin: 20 optimizer steps of the demo recipe's training
# (AdamW with decay on matrices only, warmup + cosine, global-norm clip, tied head, α mix) of a small
# student, in PyTorch, from fixed llama2.c-style initial weights over the batches distill's data order
# draws from stories.txt: per step loss, CE, KD, lr and grad norm, and the final weights, for hard-label
# CE and KD (α 0.5, T 2, forward and reverse KL) from the real stories260K teacher. Each run is done in
# float64 (the reference the test compares with) and in float32 four times, the batch rows summed in
# four orders (how far those land from float64 is the noise floor the test's tolerances are multiples
# of); one run is also cut at step 10, saved, reloaded and finished, and must equal the uninterrupted
# one bit for bit.
# It does not import distill: the model is scripts/llama2c_torch.py, the optimizer torch.optim.AdamW,
# the clip torch.nn.utils.clip_grad_norm_, the tokenizer the run.c transcription, the data order a
# transcription of distill's documented sampler (xoshiro128**, src/engine/rng.ts + data/batcher.ts).
#
# Run: /usr/bin/python3 scripts/gen-trajectory-fixtures.py   (PyTorch 1.13; ~15 s; deterministic)
import io
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402
from llama2c_tokenizer import run_c_ids, stories_paragraphs, val_doc_count  # noqa: E402
from llama2c_torch import forward, read_legacy  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
DATA = os.path.join(ROOT, '..', 'shared', 'data')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'train')
GENERATOR = '/usr/bin/python3 scripts/gen-trajectory-fixtures.py'

# The demo recipe's optimizer (recipes/tinystories/*.yaml with src/recipe/schema.ts defaults), on a
# 20-step run: warmup 5 instead of 30 so that both the ramp and the cosine are walked.
RUN = dict(seed=1, batchSize=4, seqLen=64, steps=20, lr=5e-3, beta1=0.9, beta2=0.95, eps=1e-8,
           weightDecay=0.1, clip=1.0, warmup=5, minRatio=0.1, resumeAt=10, initSeed=1)
# A smaller student than the demo's (dim 48, 4 layers, hidden 128) so the fixture stays small and
# the ref backend fast; the same shape otherwise: 4 heads over 2 kv heads, SwiGLU, tied head.
STUDENT = dict(dim=32, hidden=64, n_layers=2, n_heads=4, n_kv=2, vocab=512, seq_len=64)
CASES = [  # name, alpha, temperature, divergence (None: hard labels only, the teacher never runs)
    ('ce', 1.0, 1.0, None),
    ('kd-forward-kl', 0.5, 2.0, 'forward-kl'),
    ('kd-reverse-kl', 0.5, 2.0, 'reverse-kl'),
]
RESUMED = 'kd-forward-kl'
BOS = 1  # tok512's <s>: every document starts with it (shared/data/README.md)
DECAY = ('tok', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3')  # matrices and the embedding; norms not
# llama2c_torch's stacked tensors -> distill parameter names (src/model/layout.ts), layer by layer.
NAMES = [('tok', 'tok_embeddings'), ('rms_att', 'attn_norm'), ('wq', 'wq'), ('wk', 'wk'), ('wv', 'wv'),
         ('wo', 'wo'), ('rms_ffn', 'ffn_norm'), ('w1', 'w1'), ('w2', 'w2'), ('w3', 'w3'), ('rms_final', 'norm')]
M32 = 0xFFFFFFFF


class Rng:
    """xoshiro128** seeded through splitmix32, as src/engine/rng.ts documents it."""

    def __init__(self, seed):
        x = seed & M32
        s = []
        for _ in range(4):
            x = (x + 0x9E3779B9) & M32
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            s.append(z ^ (z >> 16))
        self.s = s

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        rotl = lambda v, k: ((v << k) | (v >> (32 - k))) & M32  # noqa: E731
        result = (rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next_int(self, n):
        return (self.next_u32() * n) >> 32  # = floor(u32 / 2^32 * n), exact in float64 too


def train_stream():
    """The training split of stories.txt: BOS + run.c ids per paragraph, first 90% of paragraphs."""
    paras = stories_paragraphs(os.path.join(DATA, 'tinystories', 'stories.txt'))
    n_train = len(paras) - val_doc_count(len(paras))
    s260 = os.path.join(DATA, 'stories260K')
    _, ids = run_c_ids(paras[:n_train], os.path.join(s260, 'tok512.bin'), os.path.join(s260, 'tok512.model'))
    return np.concatenate([np.asarray([BOS] + x, dtype=np.int64) for x in ids])


def draw_windows(tokens):
    """(steps, B, T+1) windows and their starts: B uniform starts in [0, n-T-1] per step, one RNG."""
    B, T, steps = RUN['batchSize'], RUN['seqLen'], RUN['steps']
    rng = Rng(RUN['seed'])
    starts = np.array([[rng.next_int(len(tokens) - T) for _ in range(B)] for _ in range(steps)], dtype=np.int64)
    windows = np.stack([np.stack([tokens[s:s + T + 1] for s in row]) for row in starts])
    return torch.from_numpy(windows), starts


def init_student():
    """llama2.c model.py init: every matrix and the embedding ~ N(0, 0.02), w3 and wo ~ N(0, 0.02/sqrt(2L))
    (llama2.c scales w3, not the down projection w2), norms 1. Drawn in float32: both runs start from it."""
    c, L = STUDENT, STUDENT['n_layers']
    hs = c['dim'] // c['n_heads']
    kv = hs * c['n_kv']
    shapes = {'tok': (c['vocab'], c['dim']), 'rms_att': (L, c['dim']), 'wq': (L, c['dim'], c['dim']),
              'wk': (L, kv, c['dim']), 'wv': (L, kv, c['dim']), 'wo': (L, c['dim'], c['dim']),
              'rms_ffn': (L, c['dim']), 'w1': (L, c['hidden'], c['dim']), 'w2': (L, c['dim'], c['hidden']),
              'w3': (L, c['hidden'], c['dim']), 'rms_final': (c['dim'],)}
    gen = torch.Generator().manual_seed(RUN['initSeed'])
    p = {}
    for k, shape in shapes.items():
        if k.startswith('rms'):
            p[k] = torch.ones(shape, dtype=torch.float32)
        else:
            std = 0.02 / math.sqrt(2 * L) if k in ('wo', 'w3') else 0.02
            p[k] = torch.randn(shape, generator=gen, dtype=torch.float32) * std
    return p


def learning_rate(step):
    """Linear warmup from lr/warmup at step 0 to lr at step warmup-1, then half a cosine to lr*minRatio
    at the last step (0-based steps; the convention src/recipe/schema.ts documents)."""
    lr, w, n = RUN['lr'], RUN['warmup'], RUN['steps']
    if step < w:
        return lr * (step + 1) / w
    progress = min(1.0, (step - w) / max(1, n - 1 - w))
    floor = lr * RUN['minRatio']
    return floor + 0.5 * (lr - floor) * (1 + math.cos(math.pi * progress))


def kd_rows(divergence, student_logits, teacher_logits, temp):
    """Per-row divergence between softmax(teacher/T) = p and softmax(student/T) = q."""
    lq = F.log_softmax(student_logits / temp, dim=-1)
    lp = F.log_softmax(teacher_logits / temp, dim=-1)
    if divergence == 'forward-kl':
        return (lp.exp() * (lp - lq)).sum(-1)
    if divergence == 'reverse-kl':
        return (lq.exp() * (lq - lp)).sum(-1)
    raise ValueError(divergence)


def make_optimizer(p):
    r = RUN
    decay = [p[k] for k in DECAY]
    rest = [v for k, v in p.items() if k not in DECAY and k != 'wcls']
    return torch.optim.AdamW([{'params': decay, 'weight_decay': r['weightDecay']}, {'params': rest, 'weight_decay': 0.0}],
                             lr=r['lr'], betas=(r['beta1'], r['beta2']), eps=r['eps'])


def leaves(init, dtype):
    p = {k: v.to(dtype).clone().requires_grad_(True) for k, v in init.items()}
    p['wcls'] = p['tok']  # tied head: one tensor, its gradient the sum of both uses
    return p


def round_trip(p, opt):
    """A checkpoint at the step boundary: weights and optimizer state through torch.save/load, into a
    fresh model and optimizer (what a resumed process holds)."""
    buf = io.BytesIO()
    torch.save({'p': {k: v.detach() for k, v in p.items() if k != 'wcls'}, 'opt': opt.state_dict()}, buf)
    buf.seek(0)
    ck = torch.load(buf)
    q = {k: v.clone().requires_grad_(True) for k, v in ck['p'].items()}
    q['wcls'] = q['tok']
    opt2 = make_optimizer(q)
    opt2.load_state_dict(ck['opt'])
    return q, opt2


def run(case, dtype, windows, init, teacher, resume_at=None):
    """One training run; returns (per-step records, final weights as float64)."""
    _, alpha, temp, divergence = case
    tcfg, tp = teacher
    tp = {k: v.to(dtype) for k, v in tp.items()}
    p = leaves(init, dtype)
    opt = make_optimizer(p)
    V = STUDENT['vocab']
    recs = {k: [] for k in ('loss', 'ce', 'kd', 'lr', 'gradNorm')}
    for step in range(RUN['steps']):
        if step == resume_at:
            p, opt = round_trip(p, opt)
        lr = learning_rate(step)
        for g in opt.param_groups:
            g['lr'] = lr
        inputs, targets = windows[step][:, :-1], windows[step][:, 1:]
        logits = forward(STUDENT, p, inputs, table_dtype=dtype)
        ce = F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
        if divergence is None:
            kd, loss = torch.zeros((), dtype=dtype), ce
        else:
            with torch.no_grad():
                tl = forward(tcfg, tp, inputs, table_dtype=dtype)
            kd = kd_rows(divergence, logits, tl, temp).mean() * temp ** 2  # Hinton's T² scaling
            loss = alpha * ce + (1 - alpha) * kd
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_([v for k, v in p.items() if k != 'wcls'], RUN['clip'])
        opt.step()
        for k, v in (('loss', loss), ('ce', ce), ('kd', kd), ('lr', lr), ('gradNorm', norm)):
            recs[k].append(float(v))
    return recs, {k: v.detach().to(torch.float64) for k, v in p.items() if k != 'wcls'}


def by_distill_name(p):
    """Stacked tensors -> {distill name: tensor}."""
    out = {}
    for ours, theirs in NAMES:
        if ours in ('tok', 'rms_final'):
            out[theirs] = p[ours]
        else:
            for l in range(STUDENT['n_layers']):
                out[f'layers.{l}.{theirs}'] = p[ours][l]
    return out


def row_orders(B):
    """The float32 runs' batch-row orders: as drawn, reversed, rotated, pairs swapped. The same math
    (the loss is a mean over rows), other summation orders: one float32 run alone is a single sample of
    the rounding and underestimates it by up to 10x at the steps where the gradient is ill-conditioned."""
    return [list(range(B)), list(reversed(range(B))), [B - 1] + list(range(B - 1)), [i ^ 1 for i in range(B)]]


def rel_drift(a, b):
    """|a - b| / |b| per step (0 where both are 0: the KD term of a hard-label run)."""
    return [abs(x - y) / abs(y) if y != 0 else abs(x) for x, y in zip(a, b)]


def main():
    torch.set_num_threads(1)  # one summation order, whatever the machine
    tokens = train_stream()
    windows, starts = draw_windows(tokens)
    init = init_student()
    tcfg, tp = read_legacy(os.path.join(DATA, 'stories260K', 'stories260K.bin'))
    teacher = (tcfg, tp)
    w = FixtureWriter(os.path.join(OUT, 'trajectory'), GENERATOR)
    c = STUDENT
    setup = dict(RUN, family='llama', dim=c['dim'], nLayers=c['n_layers'], nHeads=c['n_heads'], nKvHeads=c['n_kv'],
                 hiddenDim=c['hidden'], vocabSize=c['vocab'], maxSeqLen=c['seq_len'], normEps=1e-5, ropeTheta=10000.0,
                 ropeMode='interleaved', tiedEmbeddings=True, trainTokens=int(len(tokens)),
                 teacher='stories260K/stories260K.bin', data='tinystories/stories.txt', tokenizer='stories260K/tok512.bin')
    w.case('setup', setup, {'windows': windows, 'starts': starts,
                            **{f'init.{k}': v for k, v in by_distill_name(init).items()}})
    print(f'train split {len(tokens)} tokens; {RUN["steps"]} steps of {RUN["batchSize"]}x{RUN["seqLen"]}')
    for case in CASES:
        name, alpha, temp, divergence = case
        r64, p64 = run(case, torch.float64, windows, init, teacher)
        runs32 = [run(case, torch.float32, windows[:, order], init, teacher) for order in row_orders(RUN['batchSize'])]
        r32, p32 = runs32[0]
        resumed = name == RESUMED
        if resumed:
            for dtype, (rr, pp) in ((torch.float64, (r64, p64)), (torch.float32, (r32, p32))):
                ra, pa = run(case, dtype, windows, init, teacher, resume_at=RUN['resumeAt'])
                if ra != rr or any(not torch.equal(pa[k], pp[k]) for k in pp):
                    sys.exit(f'{name}: the run resumed at step {RUN["resumeAt"]} in {dtype} differs from the uninterrupted one')
        # per step, the farthest of the four float32 runs from float64
        d = {k: [max(x) for x in zip(*(rel_drift(r[k], r64[k]) for r, _ in runs32))] for k in ('loss', 'ce', 'kd', 'gradNorm')}
        f64 = torch.cat([p64[k].flatten() for k in p64])
        diffs = [torch.cat([p[k].flatten() for k in p64]) - f64 for _, p in runs32]
        params = {
            'alpha': alpha, 'temperature': temp, 'divergence': divergence or 'none',
            **{k: r64[k] for k in ('loss', 'ce', 'kd', 'lr', 'gradNorm')},
            **{f'{k}Drift': v for k, v in d.items()},
            'weightsMaxAbsDrift': max(float(x.abs().max()) for x in diffs),
            'weightsRelL2Drift': max(float(x.norm() / f64.norm()) for x in diffs),
            'float32RowOrders': ' '.join(''.join(map(str, o)) for o in row_orders(RUN['batchSize'])),
            'resumedBitwiseEqual': resumed,
        }
        w.case(name, params, {f'final.{k}': v for k, v in by_distill_name(p64).items()})
        print(f'{name}: loss {r64["loss"][0]:.4f} -> {r64["loss"][-1]:.4f}, max grad norm {max(r64["gradNorm"]):.3f} '
              f'(clipped at {sum(g > RUN["clip"] for g in r64["gradNorm"])} steps); float32 drift: loss '
              f'{max(d["loss"]):.2e}, grad norm {max(d["gradNorm"]):.2e}, weights max-abs {params["weightsMaxAbsDrift"]:.2e}, '
              f'rel-L2 {params["weightsRelL2Drift"]:.2e}' + ('; resumed at 10: bitwise equal' if resumed else ''))
    os.makedirs(OUT, exist_ok=True)
    w.save()
    print('wrote test/fixtures/train/trajectory.json/.bin')


if __name__ == '__main__':
    main()
