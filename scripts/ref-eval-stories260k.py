# PyTorch reference for `distill eval` on stories260K: reads the llama2.c legacy checkpoint itself,
# runs the llama2.c model (RMSNorm, interleaved rotary, GQA, SwiGLU, tied head) in float32/float64,
# tokenizes tinystories/stories.txt with SentencePiece (tok512.model) per shared/data/README.md,
# and prints the mean next-token loss over the validation split with distill's windowing:
#   tokens = concat over validation paragraphs of [BOS] + encode(paragraph)   (N tokens)
#   window i (i = 0 .. floor((N-1)/T)-1): inputs tokens[i*T : i*T+T], targets tokens[i*T+1 : i*T+T+1]
#   the tail (fewer than T targets) is dropped; loss = mean over all windows*T targets (nats).
# Run: /usr/bin/python3 scripts/ref-eval-stories260k.py [--seq-len 256] > test/fixtures/eval/stories260k-val.json
# --matmul bf16 scores the model as distill's bf16 teacher runs it (docs/bf16-teacher.md): every
# projection and the head multiply bf16-rounded activations by bf16-rounded weights (torch's
# .bfloat16(), ties to even); sums, norms, rotary, attention and the loss stay wide. It prints the
# fp32-weights loss, the bf16 loss with float64 sums (the spec), and the bf16 loss recomputed in
# float32 with --orders different summation orders (the K axis of every product permuted at random):
# how far a correct float32 implementation can land from the spec, since a changed last bit of an
# fp32 activation flips its bf16 rounding now and then. The test bound is derived from that spread:
#   /usr/bin/python3 scripts/ref-eval-stories260k.py --matmul bf16 --max-windows 2 --orders 16 > test/fixtures/eval/stories260k-val-bf16.json
import argparse
import hashlib
import json
import os
import re
import sys

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_torch import forward, mm_wide, read_legacy  # noqa: E402

DATA = '../shared/data'


def make_mm_bf16(perm_gen):
    """x @ w.T with both rounded to bf16 (round to nearest even) and summed in x's dtype; with a
    generator, the K axis is permuted at random first (another summation order, same products)."""
    def mm(x, w):
        xr = x.to(torch.bfloat16).to(x.dtype)
        wr = w.to(torch.bfloat16).to(x.dtype)
        if perm_gen is not None:
            perm = torch.randperm(x.shape[-1], generator=perm_gen)
            xr, wr = xr[..., perm], wr[:, perm]
        return xr @ wr.T
    return mm


def split_tokens(text, sp, split):
    # shared/data/README.md, as src/data/corpus.ts splitParagraphs/valDocCount: paragraphs split at
    # two or more newlines, trimmed, empty ones dropped; each is BOS + its tokens (no EOS); the last
    # max(1, round(10%)) are validation.
    paras = [q.strip() for q in re.split(r'\n{2,}', text.replace('\r\n', '\n')) if q.strip()]
    n_val = max(1, int(len(paras) * 0.1 + 0.5))
    chosen = {'val': paras[len(paras) - n_val:], 'train': paras[:len(paras) - n_val], 'all': paras}[split]
    ids = []
    for q in chosen:
        ids.append(sp.bos_id())
        ids.extend(sp.encode(q))
    return ids, len(paras), len(chosen)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seq-len', type=int, default=256)
    ap.add_argument('--split', default='val')
    ap.add_argument('--dtype', default='float64', help='float64 (reference) or float32')
    ap.add_argument('--matmul', default='wide', help='wide (as --dtype) or bf16 (see the top of this file)')
    ap.add_argument('--max-windows', type=int, default=0, help='score only the first n windows (0: all)')
    ap.add_argument('--orders', type=int, default=16, help='with --matmul bf16: float32 summation orders tried')
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg, p = read_legacy(f'{DATA}/stories260K/stories260K.bin')
    dtype = getattr(torch, a.dtype)
    p = {k: v.to(dtype) for k, v in p.items()}
    sp = spm.SentencePieceProcessor(model_file=f'{DATA}/stories260K/tok512.model')
    text = open(f'{DATA}/tinystories/stories.txt', encoding='utf-8').read()
    ids, n_paras, n_docs = split_tokens(text, sp, a.split)
    T = a.seq_len
    n_windows = (len(ids) - 1) // T
    if a.max_windows:
        n_windows = min(n_windows, a.max_windows)
    toks = torch.tensor(ids[:n_windows * T + 1], dtype=torch.long)
    inputs = toks[:-1].view(n_windows, T)
    targets = toks[1:].view(n_windows, T)

    def window_losses(params, mm=mm_wide):
        losses = []
        with torch.no_grad():
            for s in range(0, n_windows, 16):
                logits = forward(cfg, params, inputs[s:s + 16], mm)
                losses.append(F.cross_entropy(logits.reshape(-1, cfg['vocab']), targets[s:s + 16].reshape(-1), reduction='none').view(-1, T))
        return torch.cat(losses).mean(1)

    per_window = window_losses(p)
    gen = f'/usr/bin/python3 scripts/ref-eval-stories260k.py --seq-len {T} --split {a.split} --dtype {a.dtype}'
    if a.max_windows:
        gen += f' --max-windows {a.max_windows}'
    bf16 = {}
    if a.matmul == 'bf16':
        gen += f' --matmul bf16 --orders {a.orders}'
        p32 = {k: v.float() for k, v in p.items()}
        spec = window_losses(p, make_mm_bf16(None)).mean().item()
        g = torch.Generator().manual_seed(1)
        f32 = [window_losses(p32, make_mm_bf16(g)).mean().item() for _ in range(a.orders)]
        dev = [abs(x - spec) for x in f32]
        bf16 = {
            'bf16Loss': spec,
            'bf16LossFloat32Orders': f32,
            # the largest float32 deviation from the spec over the orders tried, and their sd
            'bf16MaxOrderDeviation': max(dev),
            'bf16OrderSd': float(np.std(f32, ddof=1)) if len(f32) > 1 else 0.0,
        }
    out = {
        'generator': gen,
        'torch': torch.__version__, 'model': 'stories260K/stories260K.bin', 'tokenizer': 'stories260K/tok512.model (sentencepiece)',
        'data': 'tinystories/stories.txt', 'split': a.split, 'paragraphs': n_paras, 'documents': n_docs,
        'tokens': len(ids), 'tokensSha256': hashlib.sha256(np.asarray(ids, dtype='<i4').tobytes()).hexdigest(),
        'seqLen': T, 'windows': n_windows,
        'meanLoss': per_window.mean().item(),
        'firstWindowsLoss': {str(k): per_window[:k].mean().item() for k in (1, 4, 16) if k <= n_windows},
        **bf16,
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == '__main__':
    main()
