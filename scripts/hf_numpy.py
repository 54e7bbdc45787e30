# An independent numpy reader of Hugging Face model folders, written from the safetensors format and
# transformers' LlamaForCausalLM / GPT2LMHeadModel definitions (state-dict names and shapes, config
# keys), and a float64 Llama forward pass. It does not import distill. Used by
# scripts/ref-generate-tinystories656k.py and scripts/check-hf-folder.py.
import json
import os
import struct

import numpy as np

DTYPES = {'F32': ('<f4', 4), 'F16': ('<f2', 2), 'BF16': (None, 2), 'F64': ('<f8', 8)}


def read_safetensors_file(path):
    """name -> (dtype, float64 array); __metadata__ aliases followed."""
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {}) or {}
    out = {}
    for name, e in header.items():
        np_dtype, size = DTYPES[e['dtype']]
        b, end = e['data_offsets']
        count = (end - b) // size
        assert count == int(np.prod(e['shape'])), f'{path}: {name} spans {end - b} bytes for shape {e["shape"]}'
        if e['dtype'] == 'BF16':
            bits = np.frombuffer(raw, dtype='<u2', count=count, offset=8 + n + b).astype(np.uint32) << 16
            a = bits.view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=np_dtype, count=count, offset=8 + n + b)
        out[name] = (e['dtype'], a.astype(np.float64).reshape(e['shape']))
    aliases = {a: s for a, s in meta.items() if s in out and a not in out}
    return out, aliases


def read_folder(folder):
    """config dict, {name: (dtype, array)}, {alias: stored name} over model.safetensors or a sharded index."""
    cfg = json.load(open(os.path.join(folder, 'config.json')))
    index = os.path.join(folder, 'model.safetensors.index.json')
    files = sorted(set(json.load(open(index))['weight_map'].values())) if os.path.exists(index) else ['model.safetensors']
    tensors, aliases = {}, {}
    for f in files:
        t, a = read_safetensors_file(os.path.join(folder, f))
        tensors.update(t)
        aliases.update(a)
    return cfg, tensors, aliases


def expected_tensors(cfg):
    """The state-dict names and shapes transformers' model class has for this config (tied head omitted)."""
    arch = cfg['architectures'][0]
    if arch == 'GPT2LMHeadModel':
        C, L, V, P = cfg['n_embd'], cfg['n_layer'], cfg['vocab_size'], cfg['n_positions']
        H = cfg.get('n_inner') or 4 * C
        want = {'transformer.wte.weight': [V, C], 'transformer.wpe.weight': [P, C],
                'transformer.ln_f.weight': [C], 'transformer.ln_f.bias': [C]}
        for l in range(L):
            p = f'transformer.h.{l}.'
            want.update({p + 'ln_1.weight': [C], p + 'ln_1.bias': [C], p + 'attn.c_attn.weight': [C, 3 * C],
                         p + 'attn.c_attn.bias': [3 * C], p + 'attn.c_proj.weight': [C, C], p + 'attn.c_proj.bias': [C],
                         p + 'ln_2.weight': [C], p + 'ln_2.bias': [C], p + 'mlp.c_fc.weight': [C, H],
                         p + 'mlp.c_fc.bias': [H], p + 'mlp.c_proj.weight': [H, C], p + 'mlp.c_proj.bias': [C]})
        if not cfg.get('tie_word_embeddings', True):
            want['lm_head.weight'] = [V, C]
        return want
    assert arch in ('LlamaForCausalLM', 'MistralForCausalLM', 'Qwen2ForCausalLM'), arch
    C, L, V, NH = cfg['hidden_size'], cfg['num_hidden_layers'], cfg['vocab_size'], cfg['num_attention_heads']
    NKV, H = cfg.get('num_key_value_heads', NH), cfg['intermediate_size']
    HS = cfg.get('head_dim') or C // NH
    want = {'model.embed_tokens.weight': [V, C], 'model.norm.weight': [C]}
    for l in range(L):
        p = f'model.layers.{l}.'
        want.update({p + 'input_layernorm.weight': [C], p + 'post_attention_layernorm.weight': [C],
                     p + 'self_attn.q_proj.weight': [NH * HS, C], p + 'self_attn.k_proj.weight': [NKV * HS, C],
                     p + 'self_attn.v_proj.weight': [NKV * HS, C], p + 'self_attn.o_proj.weight': [C, NH * HS],
                     p + 'mlp.gate_proj.weight': [H, C], p + 'mlp.up_proj.weight': [H, C], p + 'mlp.down_proj.weight': [C, H]})
        if arch == 'Qwen2ForCausalLM':
            want.update({p + 'self_attn.q_proj.bias': [NH * HS], p + 'self_attn.k_proj.bias': [NKV * HS],
                         p + 'self_attn.v_proj.bias': [NKV * HS]})
    if not cfg.get('tie_word_embeddings', False):
        want['lm_head.weight'] = [V, C]
    return want


def llama_logits(cfg, w, ids):
    """Float64 logits (T, V) of a Llama-family model (half-split rotary, as transformers) for one window."""
    C, NH = cfg['hidden_size'], cfg['num_attention_heads']
    NKV, L = cfg.get('num_key_value_heads', NH), cfg['num_hidden_layers']
    HS, eps, theta = C // NH, cfg.get('rms_norm_eps', 1e-6), cfg.get('rope_theta', 10000.0)
    head = w['lm_head.weight'] if 'lm_head.weight' in w else w['model.embed_tokens.weight']
    bias = cfg['architectures'][0] == 'Qwen2ForCausalLM'

    def rms(x, g):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g

    def rope(x):  # x (T, H, HS): (i, i + HS/2) rotated by t * theta^(-2i/HS)
        T = x.shape[0]
        inv = 1.0 / theta ** (np.arange(0, HS, 2) / HS)
        ang = np.outer(np.arange(T), inv)
        cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        a, b = x[..., :HS // 2], x[..., HS // 2:]
        return np.concatenate([a * cos - b * sin, b * cos + a * sin], -1)

    def proj(h, p, name):
        y = h @ w[p + name + '.weight'].T
        return y + w[p + name + '.bias'] if bias and name in ('self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj') else y

    x = w['model.embed_tokens.weight'][ids]
    T = len(ids)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(L):
        p = f'model.layers.{l}.'
        h = rms(x, w[p + 'input_layernorm.weight'])
        q = rope(proj(h, p, 'self_attn.q_proj').reshape(T, NH, HS))
        k = rope(proj(h, p, 'self_attn.k_proj').reshape(T, NKV, HS))
        v = proj(h, p, 'self_attn.v_proj').reshape(T, NKV, HS)
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


def greedy(cfg, w, ids, steps):
    """Greedy continuation (no cache) and the smallest top-1/top-2 logit margin met."""
    ids, margin, first = list(ids), np.inf, None
    for _ in range(steps):
        logits = llama_logits(cfg, w, ids)[-1]
        if first is None:
            first = logits
        top = np.sort(logits)[-2:]
        margin = min(margin, top[1] - top[0])
        ids.append(int(np.argmax(logits)))
    return ids, first, margin
