# The llama2.c model in PyTorch, written from its conventions (RMSNorm, interleaved rotary pairs,
# grouped-query attention, SwiGLU, tied head) over a dict of stacked per-layer tensors, and a reader
# for llama2.c legacy checkpoints; forward_with_past is the same model continuing a KV cache (what an
# ONNX causal-LM export runs). Shared by the PyTorch reference scripts; it does not import distill.
import struct

import numpy as np
import torch
import torch.nn.functional as F


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


def rope_interleaved(x, theta=10000.0, table_dtype=torch.float64):
    # x (B, T, H, HS): pairs (2i, 2i+1) rotated by t * theta^(-2i/HS), as llama2.c run.c. The angles
    # in table_dtype: float64 is the exact reference; float32 is how llama2.c (and distill) build them.
    B, T, H, HS = x.shape
    freqs = 1.0 / theta ** (torch.arange(0, HS, 2, dtype=table_dtype) / HS)
    ang = torch.outer(torch.arange(T, dtype=table_dtype), freqs)
    cos, sin = torch.cos(ang).to(x.dtype)[None, :, None, :], torch.sin(ang).to(x.dtype)[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def mm_wide(x, w):
    return x @ w.T


def forward(cfg, p, tokens, mm=mm_wide, table_dtype=torch.float64):
    """tokens (B, T) long -> logits (B, T, V); p as read_legacy returns it (any float dtype). mm(x, w)
    is every projection and the head (x @ w.T; ref-eval-stories260k.py swaps in a bf16 one)."""
    B, T = tokens.shape
    H, KV = cfg['n_heads'], cfg['n_kv']
    hs = cfg['dim'] // H
    x = p['tok'][tokens]
    mask = torch.full((T, T), float('-inf'), dtype=x.dtype).triu(1)
    for l in range(cfg['n_layers']):
        h = rmsnorm(x, p['rms_att'][l])
        q = mm(h, p['wq'][l]).view(B, T, H, hs)
        k = mm(h, p['wk'][l]).view(B, T, KV, hs)
        v = mm(h, p['wv'][l]).view(B, T, KV, hs)
        q, k = rope_interleaved(q, table_dtype=table_dtype), rope_interleaved(k, table_dtype=table_dtype)
        k = k.repeat_interleave(H // KV, dim=2)
        v = v.repeat_interleave(H // KV, dim=2)
        att = (q.transpose(1, 2) @ k.transpose(1, 2).transpose(-1, -2)) / hs ** 0.5 + mask
        o = (att.softmax(-1) @ v.transpose(1, 2)).transpose(1, 2).reshape(B, T, H * hs)
        x = x + mm(o, p['wo'][l])
        h = rmsnorm(x, p['rms_ffn'][l])
        x = x + mm(F.silu(mm(h, p['w1'][l])) * mm(h, p['w3'][l]), p['w2'][l])
    return mm(rmsnorm(x, p['rms_final']), p['wcls'])


def rope_at(x, positions, theta=10000.0, table_dtype=torch.float64):
    # rope_interleaved at explicit positions (B, T) rather than 0..T-1, written with stack instead of
    # in-place slice writes so that torch.onnx.export traces it to plain elementwise ops. Same angles
    # and products as rope_interleaved: at positions 0..T-1 the two agree bit for bit.
    HS = x.shape[-1]
    freqs = 1.0 / theta ** (torch.arange(0, HS, 2, dtype=table_dtype) / HS)
    ang = positions.to(table_dtype)[..., None] * freqs
    cos, sin = torch.cos(ang).to(x.dtype)[:, :, None, :], torch.sin(ang).to(x.dtype)[:, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


def forward_with_past(cfg, p, tokens, positions, key_mask, past, mm=mm_wide, table_dtype=torch.float64):
    """forward() continuing a cache, the Hugging Face causal-LM calling convention: tokens and
    positions (B, T) long, key_mask (B, P+T) (1 = attend, 0 = padding) over the P cached positions and
    the T new ones, past a list per layer of (key, value), each (B, n_kv, P, head size), keys already
    rotated. Returns (logits (B, T, V), the list per layer of (key, value) with the T new positions
    appended). Query t attends to cache slots 0..P+t whose key_mask is 1. With P = 0 and key_mask all
    ones it equals forward(); the per-layer layout is p's (stacked tensors, or lists per layer)."""
    B, T = tokens.shape
    H, KV = cfg['n_heads'], cfg['n_kv']
    hs = cfg['dim'] // H
    S = past[0][0].shape[2] + T  # cache length after this call
    q_slot = torch.arange(T) + (S - T)
    allowed = (torch.arange(S)[None, :] <= q_slot[:, None])[None, :, :] & (key_mask[:, None, :] > 0)
    mask = torch.where(allowed, torch.zeros((), dtype=p['tok'].dtype), torch.full((), float('-inf'), dtype=p['tok'].dtype))
    x = p['tok'][tokens]
    present = []
    for l in range(cfg['n_layers']):
        h = rmsnorm(x, p['rms_att'][l])
        q = rope_at(mm(h, p['wq'][l]).view(B, T, H, hs), positions, table_dtype=table_dtype)
        k = rope_at(mm(h, p['wk'][l]).view(B, T, KV, hs), positions, table_dtype=table_dtype)
        v = mm(h, p['wv'][l]).view(B, T, KV, hs)
        k = torch.cat((past[l][0], k.transpose(1, 2)), dim=2)  # (B, KV, S, hs)
        v = torch.cat((past[l][1], v.transpose(1, 2)), dim=2)
        present.append((k, v))
        # each kv head serves H/KV consecutive query heads, as repeat_interleave in forward()
        k = k[:, :, None].expand(B, KV, H // KV, S, hs).reshape(B, H, S, hs)
        v = v[:, :, None].expand(B, KV, H // KV, S, hs).reshape(B, H, S, hs)
        att = (q.transpose(1, 2) @ k.transpose(-1, -2)) / hs ** 0.5 + mask[:, None]
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * hs)
        x = x + mm(o, p['wo'][l])
        h = rmsnorm(x, p['rms_ffn'][l])
        x = x + mm(F.silu(mm(h, p['w1'][l])) * mm(h, p['w3'][l]), p['w2'][l])
    return mm(rmsnorm(x, p['rms_final']), p['wcls']), present
