# Writes the model parity fixtures: tiny random Llama and GPT-2 models in PyTorch (float64
# arithmetic over float32-rounded parameters), their logits, mean CE loss, every parameter
# gradient (flattened in distill's layout order, src/model/layout.ts) and a greedy continuation;
# plus Hugging Face folders (config.json + hand-written safetensors, one sharded) for the io
# loaders. It does not import distill or transformers: the reference is written out here.
#
# Run: /usr/bin/python3 scripts/gen-model-fixtures.py   (PyTorch 1.13; ~2 s)
# Writes: test/fixtures/models/<case>.json/.bin, test/fixtures/hf/{llama-tiny,
#         llama-tiny-sharded,gpt2-tiny}/
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
MODELS_DIR = os.path.join(ROOT, 'test', 'fixtures', 'models')
HF_DIR = os.path.join(ROOT, 'test', 'fixtures', 'hf')
GENERATOR = 'scripts/gen-model-fixtures.py'
DT = torch.float64  # reference arithmetic; parameters are rounded to float32 first


# ------------------------------------------------------------------ layout (mirrors layout.ts)
def head_size(c):
    return c['dim'] // c['nHeads']


def layout(c):
    """[(name, shape)] in distill's canonical order: kinds stacked over layers."""
    C, H, V, L = c['dim'], c['hiddenDim'], c['vocabSize'], c['nLayers']
    if c['family'] == 'llama':
        q, kv = head_size(c) * c['nHeads'], head_size(c) * c['nKvHeads']
        pre = [('tok_embeddings', [V, C])]
        per = [('attn_norm', [C]), ('wq', [q, C]), ('wk', [kv, C]), ('wv', [kv, C])]
        if c['qkvBias']:
            per += [('bq', [q]), ('bk', [kv]), ('bv', [kv])]
        per += [('wo', [C, q]), ('ffn_norm', [C]), ('w1', [H, C]), ('w2', [C, H]), ('w3', [H, C])]
        post = [('norm', [C])]
    else:
        pre = [('wte', [V, C]), ('wpe', [c['maxSeqLen'], C])]
        per = [('ln1_w', [C]), ('ln1_b', [C]), ('wq', [C, C]), ('wk', [C, C]), ('wv', [C, C]),
               ('bq', [C]), ('bk', [C]), ('bv', [C]), ('wo', [C, C]), ('bo', [C]),
               ('ln2_w', [C]), ('ln2_b', [C]), ('fc_w', [H, C]), ('fc_b', [H]),
               ('proj_w', [C, H]), ('proj_b', [C])]
        post = [('lnf_w', [C]), ('lnf_b', [C])]
    if not c['tiedEmbeddings']:
        post.append(('output', [V, C]))
    low = c.get('lowRank', {})  # factored matrices: name_a (r, in), name_b (out, r), W = b @ a
    per = [f for n, s in per for f in ([(n + '_a', [low[n], s[1]]), (n + '_b', [s[0], low[n]])] if n in low else [(n, s)])]
    out = list(pre)
    for n, s in per:
        for l in range(L):
            out.append((f'layers.{l}.{n}', s))
    return out + post


def init_params(c, gen):
    """Random parameters at a scale that keeps activations O(1), so the test is sensitive."""
    p = {}
    for name, shape in layout(c):
        base = name.split('.')[-1]
        if base in ('attn_norm', 'ffn_norm', 'norm', 'ln1_w', 'ln2_w', 'lnf_w'):
            t = 1 + 0.1 * torch.randn(shape, generator=gen)
        elif len(shape) == 1:  # biases
            t = 0.1 * torch.randn(shape, generator=gen)
        elif base in ('tok_embeddings', 'wte', 'wpe'):
            t = 0.5 * torch.randn(shape, generator=gen)
        elif base.endswith('_b'):  # factor b (out, r): b @ a keeps a dense matrix's scale
            t = torch.randn(shape, generator=gen) / math.sqrt(shape[1])
        else:  # linear (out, in), and factor a (r, in)
            t = torch.randn(shape, generator=gen) / math.sqrt(shape[1])
        p[name] = t.to(torch.float32).to(DT).requires_grad_(True)
    return p


# ------------------------------------------------------------------ reference models
def rope(x, theta, mode, pos0=0):
    """x (B,T,NH,HS). 'half': HF rotate_half; 'interleaved': llama2.c pairs (2i, 2i+1)."""
    B, T, NH, HS = x.shape
    inv = 1.0 / (theta ** (torch.arange(0, HS, 2, dtype=DT) / HS))  # (HS/2)
    ang = torch.arange(pos0, pos0 + T, dtype=DT)[:, None] * inv[None, :]  # (T, HS/2)
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    if mode == 'half':
        x1, x2 = x[..., : HS // 2], x[..., HS // 2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    xr = x.reshape(B, T, NH, HS // 2, 2)
    a, b = xr[..., 0], xr[..., 1]
    return torch.stack([a * cos - b * sin, a * sin + b * cos], dim=-1).reshape(B, T, NH, HS)


def attention(q, k, v):
    """q (B,T,NH,HS), k/v (B,T,NKV,HS): causal, grouped-query (head h reads kv h // rep)."""
    B, T, NH, HS = q.shape
    rep = NH // k.shape[2]
    k = k.repeat_interleave(rep, dim=2)
    v = v.repeat_interleave(rep, dim=2)
    s = torch.einsum('bthd,bshd->bhts', q, k) / math.sqrt(HS)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    s = s.masked_fill(~mask, float('-inf'))
    return torch.einsum('bhts,bshd->bthd', s.softmax(-1), v)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(c, p, tokens):
    """tokens (B,T) long -> logits (B,T,V)."""
    p = dense_view(c, p)
    B, T = tokens.shape
    NH, NKV, HS, eps = c['nHeads'], c['nKvHeads'], head_size(c), c['normEps']
    if c['family'] == 'llama':
        x = p['tok_embeddings'][tokens]
        for l in range(c['nLayers']):
            g = lambda n: p[f'layers.{l}.{n}']  # noqa: E731
            h = rmsnorm(x, g('attn_norm'), eps)
            q, k, v = h @ g('wq').T, h @ g('wk').T, h @ g('wv').T
            if c['qkvBias']:
                q, k, v = q + g('bq'), k + g('bk'), v + g('bv')
            q = rope(q.view(B, T, NH, HS), c['ropeTheta'], c['ropeMode'])
            k = rope(k.view(B, T, NKV, HS), c['ropeTheta'], c['ropeMode'])
            a = attention(q, k, v.view(B, T, NKV, HS)).reshape(B, T, NH * HS)
            x = x + a @ g('wo').T
            h = rmsnorm(x, g('ffn_norm'), eps)
            x = x + (torch.nn.functional.silu(h @ g('w1').T) * (h @ g('w3').T)) @ g('w2').T
        x = rmsnorm(x, p['norm'], eps)
        head = p['tok_embeddings'] if c['tiedEmbeddings'] else p['output']
    else:
        x = p['wte'][tokens] + p['wpe'][:T][None]
        ln = torch.nn.functional.layer_norm
        for l in range(c['nLayers']):
            g = lambda n: p[f'layers.{l}.{n}']  # noqa: E731
            h = ln(x, (c['dim'],), g('ln1_w'), g('ln1_b'), eps)
            q, k, v = h @ g('wq').T + g('bq'), h @ g('wk').T + g('bk'), h @ g('wv').T + g('bv')
            a = attention(q.view(B, T, NH, HS), k.view(B, T, NH, HS), v.view(B, T, NH, HS))
            x = x + a.reshape(B, T, -1) @ g('wo').T + g('bo')
            h = ln(x, (c['dim'],), g('ln2_w'), g('ln2_b'), eps)
            x = x + gelu_tanh(h @ g('fc_w').T + g('fc_b')) @ g('proj_w').T + g('proj_b')
        x = ln(x, (c['dim'],), p['lnf_w'], p['lnf_b'], eps)
        head = p['wte'] if c['tiedEmbeddings'] else p['output']
    return x @ head.T


def dense_view(c, p):
    """p with each factored matrix (c['lowRank']) as the product b @ a (gradients flow to the factors)."""
    low = c.get('lowRank', {})
    if not low:
        return p
    q = dict(p)
    for l in range(c['nLayers']):
        for n in low:
            q[f'layers.{l}.{n}'] = p[f'layers.{l}.{n}_b'] @ p[f'layers.{l}.{n}_a']
    return q


def greedy(c, p, prompt, n):
    """Greedy continuation by full recompute; returns (ids, smallest top1-top2 logit margin)."""
    seq, margin = list(prompt), float('inf')
    with torch.no_grad():
        for _ in range(n):
            last = forward(c, p, torch.tensor([seq]))[0, -1]
            top = torch.topk(last, 2).values
            margin = min(margin, float(top[0] - top[1]))
            seq.append(int(last.argmax()))
    return seq[len(prompt):], margin


# ------------------------------------------------------------------ cases
def llama_cfg(**kw):
    c = dict(family='llama', dim=32, nLayers=2, nHeads=4, nKvHeads=2, hiddenDim=48, vocabSize=67,
             maxSeqLen=32, normEps=1e-5, ropeTheta=10000.0, ropeMode='half', tiedEmbeddings=False,
             qkvBias=False)
    c.update(kw)
    return c


def gpt2_cfg(**kw):
    c = dict(family='gpt2', dim=24, nLayers=2, nHeads=3, nKvHeads=3, hiddenDim=96, vocabSize=53,
             maxSeqLen=16, normEps=1e-5, ropeTheta=10000.0, ropeMode='half', tiedEmbeddings=True,
             qkvBias=True)
    c.update(kw)
    return c


CASES = [
    # name, config, B, T, ignore some targets, seed
    ('llama-tied-interleaved', llama_cfg(ropeMode='interleaved', tiedEmbeddings=True), 2, 9, False, 1),
    ('llama-untied-half', llama_cfg(), 2, 9, True, 2),  # = hf/llama-tiny
    ('llama-qkvbias-half', llama_cfg(qkvBias=True, ropeTheta=1000000.0, normEps=1e-6), 2, 9, False, 3),
    ('gpt2-tied', gpt2_cfg(), 2, 16, True, 4),  # = hf/gpt2-tiny; T = maxSeqLen uses every wpe row
    ('gpt2-untied', gpt2_cfg(tiedEmbeddings=False), 3, 7, False, 5),
    # factored matrices (config.lowRank, issue 17): every llama block matrix / two of gpt2's
    ('llama-lowrank', llama_cfg(tiedEmbeddings=True, lowRank=dict(wq=5, wk=3, wv=4, wo=6, w1=7, w2=8, w3=9)), 2, 9, True, 6),
    ('gpt2-lowrank', gpt2_cfg(lowRank=dict(wo=5, fc_w=7)), 2, 8, False, 7),
]
IGNORE = -100


def make_case(name, c, B, T, ignore, seed):
    gen = torch.Generator().manual_seed(seed)
    p = init_params(c, gen)
    tokens = torch.randint(0, c['vocabSize'], (B, T + 1), generator=gen)
    inputs, targets = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    if ignore:
        targets[0, :3] = IGNORE
        targets[B - 1, T - 1] = IGNORE
    logits = forward(c, p, inputs)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, c['vocabSize']), targets.reshape(-1),
                                             ignore_index=IGNORE)
    loss.backward()
    names = [n for n, _ in layout(c)]
    flat = torch.cat([p[n].detach().reshape(-1) for n in names])
    grads = torch.cat([p[n].grad.reshape(-1) for n in names])
    prompt = inputs[0, :3].tolist()
    n_new = min(10, c['maxSeqLen'] - len(prompt))
    gen_ids, margin = greedy(c, p, prompt, n_new)
    print(f'{name}: loss {loss.item():.6f}, params {flat.numel()}, greedy margin {margin:.4g}')
    params = dict(c)
    params.update(B=B, T=T, ignoreIndex=IGNORE, greedyMinMargin=margin)
    w = FixtureWriter(os.path.join(MODELS_DIR, name), GENERATOR)
    w.case(name, params, {
        'params': flat, 'inputs': inputs, 'targets': targets, 'logits': logits,
        'loss': loss.reshape(1), 'grads': grads,
        'prompt': torch.tensor(prompt), 'greedy': torch.tensor(gen_ids),
    })
    w.save()
    return {n: p[n].detach().to(torch.float32) for n in names}


# ------------------------------------------------------------------ Hugging Face folders
def write_safetensors(path, tensors):
    """tensors: ordered dict name -> float32 tensor. 8-byte LE header size, JSON header, data."""
    header, blobs, off = {'__metadata__': {'format': 'pt'}}, [], 0
    for name, t in tensors.items():
        b = np.ascontiguousarray(t.numpy().astype('<f4')).tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)  # pad so the data starts 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return off


def hf_llama_tensors(c, p):
    t = {'model.embed_tokens.weight': p['tok_embeddings']}
    for l in range(c['nLayers']):
        pre, g = f'model.layers.{l}.', lambda n: p[f'layers.{l}.{n}']  # noqa: E731
        t[pre + 'input_layernorm.weight'] = g('attn_norm')
        t[pre + 'self_attn.q_proj.weight'] = g('wq')
        t[pre + 'self_attn.k_proj.weight'] = g('wk')
        t[pre + 'self_attn.v_proj.weight'] = g('wv')
        t[pre + 'self_attn.o_proj.weight'] = g('wo')
        t[pre + 'post_attention_layernorm.weight'] = g('ffn_norm')
        t[pre + 'mlp.gate_proj.weight'] = g('w1')
        t[pre + 'mlp.up_proj.weight'] = g('w3')
        t[pre + 'mlp.down_proj.weight'] = g('w2')
    t['model.norm.weight'] = p['norm']
    t['lm_head.weight'] = p['tok_embeddings'] if c['tiedEmbeddings'] else p['output']
    return t


def hf_llama_config(c):
    return {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'hidden_act': 'silu',
        'hidden_size': c['dim'], 'intermediate_size': c['hiddenDim'],
        'num_hidden_layers': c['nLayers'], 'num_attention_heads': c['nHeads'],
        'num_key_value_heads': c['nKvHeads'], 'rms_norm_eps': c['normEps'],
        'rope_theta': c['ropeTheta'], 'tie_word_embeddings': c['tiedEmbeddings'],
        'vocab_size': c['vocabSize'], 'max_position_embeddings': c['maxSeqLen'],
        'bos_token_id': 1, 'eos_token_id': 2, 'torch_dtype': 'float32',
    }


def hf_gpt2_tensors(c, p):
    """GPT-2 uses Conv1D: weights stored (in, out), q|k|v fused along out."""
    t = {'transformer.wte.weight': p['wte'], 'transformer.wpe.weight': p['wpe']}
    for l in range(c['nLayers']):
        pre, g = f'transformer.h.{l}.', lambda n: p[f'layers.{l}.{n}']  # noqa: E731
        t[pre + 'ln_1.weight'], t[pre + 'ln_1.bias'] = g('ln1_w'), g('ln1_b')
        t[pre + 'attn.c_attn.weight'] = torch.cat([g('wq'), g('wk'), g('wv')], 0).T.contiguous()
        t[pre + 'attn.c_attn.bias'] = torch.cat([g('bq'), g('bk'), g('bv')])
        t[pre + 'attn.c_proj.weight'] = g('wo').T.contiguous()
        t[pre + 'attn.c_proj.bias'] = g('bo')
        t[pre + 'ln_2.weight'], t[pre + 'ln_2.bias'] = g('ln2_w'), g('ln2_b')
        t[pre + 'mlp.c_fc.weight'] = g('fc_w').T.contiguous()
        t[pre + 'mlp.c_fc.bias'] = g('fc_b')
        t[pre + 'mlp.c_proj.weight'] = g('proj_w').T.contiguous()
        t[pre + 'mlp.c_proj.bias'] = g('proj_b')
    t['transformer.ln_f.weight'], t['transformer.ln_f.bias'] = p['lnf_w'], p['lnf_b']
    return t


def hf_gpt2_config(c):
    return {
        'architectures': ['GPT2LMHeadModel'], 'model_type': 'gpt2', 'activation_function': 'gelu_new',
        'n_embd': c['dim'], 'n_layer': c['nLayers'], 'n_head': c['nHeads'],
        'n_positions': c['maxSeqLen'], 'n_ctx': c['maxSeqLen'], 'n_inner': c['hiddenDim'],
        'layer_norm_epsilon': c['normEps'], 'vocab_size': c['vocabSize'],
        'tie_word_embeddings': True, 'bos_token_id': 0, 'eos_token_id': 0, 'torch_dtype': 'float32',
    }


def write_hf(folder, config, tensors, shards=1):
    d = os.path.join(HF_DIR, folder)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')
    if shards == 1:
        write_safetensors(os.path.join(d, 'model.safetensors'), tensors)
        return
    names = list(tensors)
    per = math.ceil(len(names) / shards)
    weight_map, total = {}, 0
    for s in range(shards):
        fname = f'model-{s + 1:05d}-of-{shards:05d}.safetensors'
        part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
        total += write_safetensors(os.path.join(d, fname), part)
        weight_map.update({n: fname for n in part})
    with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
        json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
        f.write('\n')


def main():
    os.makedirs(MODELS_DIR, exist_ok=True)
    saved = {}
    for name, c, B, T, ignore, seed in CASES:
        saved[name] = (c, make_case(name, c, B, T, ignore, seed))
    c, p = saved['llama-untied-half']
    write_hf('llama-tiny', hf_llama_config(c), hf_llama_tensors(c, p))
    write_hf('llama-tiny-sharded', hf_llama_config(c), hf_llama_tensors(c, p), shards=2)
    c, p = saved['gpt2-tied']
    write_hf('gpt2-tiny', hf_gpt2_config(c), hf_gpt2_tensors(c, p))


if __name__ == '__main__':
    main()
