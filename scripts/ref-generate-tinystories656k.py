#!/usr/bin/python3
# Greedy continuation of the TinyStories-656K Hugging Face model (../shared/data/tinystories-656k)
# from BOS, by an independent float64 numpy forward pass written from the transformers Llama
# definition (RMSNorm eps from config.json, half-split rotary, grouped-query attention, SwiGLU,
# tied head). It reads model.safetensors itself, following the header's __metadata__ alias for the
# tied matrix, and does not import distill. Writes test/fixtures/hf/tinystories656k-greedy.json:
# the greedy ids, the logits after BOS, and the smallest top-1/top-2 margin (how safely an f32
# engine can be asked to reproduce the same ids).
#   /usr/bin/python3 scripts/ref-generate-tinystories656k.py
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODEL = os.path.join(ROOT, '..', 'shared', 'data', 'tinystories-656k')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'hf', 'tinystories656k-greedy.json')
STEPS = 40


def read_safetensors(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {}) or {}
    tensors = {}
    for name, e in header.items():
        assert e['dtype'] == 'F32', (name, e['dtype'])
        b, end = e['data_offsets']
        tensors[name] = np.frombuffer(raw, dtype='<f4', count=(end - b) // 4, offset=8 + n + b).reshape(e['shape']).astype(np.float64)
    for alias, stored in meta.items():
        if stored in tensors and alias not in tensors:
            tensors[alias] = tensors[stored]
    return tensors


def main():
    cfg = json.load(open(os.path.join(MODEL, 'config.json')))
    w = read_safetensors(os.path.join(MODEL, 'model.safetensors'))
    C, NH, NKV = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads']
    HS, L, eps, theta = C // NH, cfg['num_hidden_layers'], cfg['rms_norm_eps'], cfg['rope_theta']
    head = w['lm_head.weight'] if 'lm_head.weight' in w else w['model.embed_tokens.weight']

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    def rope(x):  # x (T, H, HS), half split: (i, i + HS/2) rotated by t * theta^(-2i/HS)
        T = x.shape[0]
        inv = 1.0 / theta ** (np.arange(0, HS, 2) / HS)
        ang = np.outer(np.arange(T), inv)
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        a, b = x[..., :HS // 2], x[..., HS // 2:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin], -1)

    def forward(ids):
        x = w['model.embed_tokens.weight'][ids]
        T = len(ids)
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for l in range(L):
            p = f'model.layers.{l}.'
            h = rms(x, w[p + 'input_layernorm.weight'])
            q = rope((h @ w[p + 'self_attn.q_proj.weight'].T).reshape(T, NH, HS))
            k = rope((h @ w[p + 'self_attn.k_proj.weight'].T).reshape(T, NKV, HS))
            v = (h @ w[p + 'self_attn.v_proj.weight'].T).reshape(T, NKV, HS)
            k, v = np.repeat(k, NH // NKV, 1), np.repeat(v, NH // NKV, 1)
            s = np.einsum('thd,uhd->htu', q, k) / np.sqrt(HS) + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            o = np.einsum('htu,uhd->thd', s, v).reshape(T, C)
            x = x + o @ w[p + 'self_attn.o_proj.weight'].T
            h = rms(x, w[p + 'post_attention_layernorm.weight'])
            g = h @ w[p + 'mlp.gate_proj.weight'].T
            x = x + ((g / (1 + np.exp(-g))) * (h @ w[p + 'mlp.up_proj.weight'].T)) @ w[p + 'mlp.down_proj.weight'].T
        return rms(x, w['model.norm.weight']) @ head.T

    bos = cfg['bos_token_id']
    ids = [bos]
    margin = np.inf
    first = None
    for _ in range(STEPS):
        logits = forward(ids)[-1]
        if first is None:
            first = logits
        top = np.sort(logits)[-2:]
        margin = min(margin, top[1] - top[0])
        ids.append(int(np.argmax(logits)))
    json.dump({
        'generator': 'scripts/ref-generate-tinystories656k.py (float64 numpy, transformers Llama definition)',
        'model': '../shared/data/tinystories-656k', 'bos': bos, 'ids': ids,
        'logitsAfterBos': [round(float(v), 7) for v in first], 'minTop2Margin': float(margin),
    }, open(OUT, 'w'))
    print(f'{OUT}: {len(ids)} ids, min top-1/top-2 margin {margin:.4g}', file=sys.stderr)


main()
