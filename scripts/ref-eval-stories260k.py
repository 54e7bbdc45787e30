# PyTorch reference for `distill eval` on stories260K: reads the llama2.c legacy checkpoint itself,
# runs the llama2.c model (RMSNorm, interleaved rotary, GQA, SwiGLU, tied head) in float32/float64,
# tokenizes tinystories/stories.txt with SentencePiece (tok512.model) per shared/data/README.md,
# and prints the mean next-token loss over the validation split with distill's windowing:
#   tokens = concat over validation paragraphs of [BOS] + encode(paragraph)   (N tokens)
#   window i (i = 0 .. floor((N-1)/T)-1): inputs tokens[i*T : i*T+T], targets tokens[i*T+1 : i*T+T+1]
#   the tail (fewer than T targets) is dropped; loss = mean over all windows*T targets (nats).
# Run: /usr/bin/python3 scripts/ref-eval-stories260k.py [--seq-len 256] > test/fixtures/eval/stories260k-val.json
import argparse
import hashlib
import json
import re
import struct
import sys

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

DATA = '../shared/data'


def read_legacy(path):
    raw = open(path, 'rb').read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack('7i', raw[:28])
    tied = vocab > 0
    vocab = abs(vocab)
    w = np.frombuffer(raw, dtype='<f4', offset=28)
    hs = dim // n_heads
    kv = hs * n_kv
    at = 0

    def take(*shape):
        nonlocal at
        n = int(np.prod(shape))
        t = torch.from_numpy(w[at:at + n].copy()).reshape(shape)
        at += n
        return t

    p = {'tok': take(vocab, dim), 'rms_att': take(n_layers, dim), 'wq': take(n_layers, dim, dim),
         'wk': take(n_layers, kv, dim), 'wv': take(n_layers, kv, dim), 'wo': take(n_layers, dim, dim),
         'rms_ffn': take(n_layers, dim), 'w1': take(n_layers, hidden, dim), 'w2': take(n_layers, dim, hidden),
         'w3': take(n_layers, hidden, dim), 'rms_final': take(dim)}
    at += seq_len * hs  # freq_cis_real and freq_cis_imag, (seq_len, hs/2) each
    p['wcls'] = p['tok'] if tied else take(vocab, dim)
    assert at == len(w), f'{path}: {len(w) - at} floats left over'
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, vocab=vocab, seq_len=seq_len)
    return cfg, p


def rmsnorm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope_interleaved(x, theta=10000.0):
    # x (B, T, H, HS): pairs (2i, 2i+1) rotated by t * theta^(-2i/HS), as llama2.c run.c
    B, T, H, HS = x.shape
    freqs = 1.0 / theta ** (torch.arange(0, HS, 2, dtype=torch.float64) / HS)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), freqs)
    cos, sin = torch.cos(ang).to(x.dtype)[None, :, None, :], torch.sin(ang).to(x.dtype)[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def forward(cfg, p, tokens):
    B, T = tokens.shape
    H, KV = cfg['n_heads'], cfg['n_kv']
    hs = cfg['dim'] // H
    x = p['tok'][tokens]
    mask = torch.full((T, T), float('-inf'), dtype=x.dtype).triu(1)
    for l in range(cfg['n_layers']):
        h = rmsnorm(x, p['rms_att'][l])
        q = (h @ p['wq'][l].T).view(B, T, H, hs)
        k = (h @ p['wk'][l].T).view(B, T, KV, hs)
        v = (h @ p['wv'][l].T).view(B, T, KV, hs)
        q, k = rope_interleaved(q), rope_interleaved(k)
        k = k.repeat_interleave(H // KV, dim=2)
        v = v.repeat_interleave(H // KV, dim=2)
        att = (q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2)) / hs ** 0.5 + mask
        o = (att.softmax(-1) @ v.transpose(1, 2)).transpose(1, 2).reshape(B, T, H * hs)
        x = x + o @ p['wo'][l].T
        h = rmsnorm(x, p['rms_ffn'][l])
        x = x + (F.silu(h @ p['w1'][l].T) * (h @ p['w3'][l].T)) @ p['w2'][l].T
    return rmsnorm(x, p['rms_final']) @ p['wcls'].T


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
    toks = torch.tensor(ids[:n_windows * T + 1], dtype=torch.long)
    inputs = toks[:-1].view(n_windows, T)
    targets = toks[1:].view(n_windows, T)
    losses = []
    with torch.no_grad():
        for s in range(0, n_windows, 16):
            logits = forward(cfg, p, inputs[s:s + 16])
            losses.append(F.cross_entropy(logits.reshape(-1, cfg['vocab']), targets[s:s + 16].reshape(-1), reduction='none').view(-1, T))
    per_window = torch.cat(losses).mean(1)
    out = {
        'generator': f'/usr/bin/python3 scripts/ref-eval-stories260k.py --seq-len {T} --split {a.split} --dtype {a.dtype}',
        'torch': torch.__version__, 'model': 'stories260K/stories260K.bin', 'tokenizer': 'stories260K/tok512.model (sentencepiece)',
        'data': 'tinystories/stories.txt', 'split': a.split, 'paragraphs': n_paras, 'documents': n_docs,
        'tokens': len(ids), 'tokensSha256': hashlib.sha256(np.asarray(ids, dtype='<i4').tobytes()).hexdigest(),
        'seqLen': T, 'windows': n_windows,
        'meanLoss': per_window.mean().item(),
        'firstWindowsLoss': {str(k): per_window[:k].mean().item() for k in (1, 4, 16) if k <= n_windows},
    }
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == '__main__':
    main()
