# Writes test/fixtures/onnx/: the real stories260K teacher exported to ONNX by PyTorch's own exporter
# (torch.onnx.export, TorchScript tracing, opset 14) in the two layouts distill's onnx teacher reads,
# and PyTorch's logits on one real window for the test to compare three ways (PyTorch, the ONNX
# files under onnxruntime, distill's engine on stories260K.bin):
#   plain/model.onnx  input_ids (B,T) int64 -> logits (B,T,V); the model is llama2c_torch.forward
#   kv/model.onnx     the Hugging Face optimum / transformers.js causal-LM layout: input_ids,
#                     attention_mask (B,P+T), position_ids (B,T), past_key_values.{i}.key/value
#                     (B,n_kv,P,head size) -> logits, present.{i}.key/value (B,n_kv,P+T,head size);
#                     the model is llama2c_torch.forward_with_past, which appends to the cache
#   kv/config.json    the sizes an optimum export writes beside the model (Hugging Face key names;
#                     no model_type: it describes the export, not a checkpoint to load)
#   reference.json/.bin  the window's 64 token ids (BOS + the first 63 tokens of the first validation
#                     paragraph of stories.txt with at least 63, tok512 by run.c's rules) and
#                     llama2c_torch.forward's float32 logits on it (64, 512)
# Weights are stored once per file (the tied head shares the embedding's initializer), inside it.
# It does not import distill, and it needs no `onnx` Python package (the exporter serializes itself).
#
# Run: /usr/bin/python3 scripts/gen-onnx-fixtures.py   (PyTorch 1.13; ~5 s; deterministic)
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_io import FixtureWriter  # noqa: E402
from llama2c_tokenizer import run_c_ids, stories_paragraphs, val_doc_count  # noqa: E402
from llama2c_torch import forward, forward_with_past, read_legacy  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
DATA = os.path.join(ROOT, '..', 'shared', 'data')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'onnx')
GENERATOR = '/usr/bin/python3 scripts/gen-onnx-fixtures.py'
OPSET = 14  # the lowest opset with Trilu (forward's causal mask); onnxruntime 1.x runs 7..21+
WINDOW = 64  # tokens in the reference window
BOS = 1  # tok512's <s>: every document starts with it (shared/data/README.md)


class Stories260K(torch.nn.Module):
    """stories260K's weights as one parameter per matrix (lists per layer, so tracing records no
    slicing of stacked tensors and each weight becomes one initializer), run by llama2c_torch."""

    def __init__(self, cfg, p, with_past):
        super().__init__()
        self.cfg, self.with_past = cfg, with_past
        self.weights = torch.nn.ParameterList()
        self.p = {}
        for name, t in p.items():
            if name == 'wcls':
                continue
            per_layer = t.dim() >= 2 and t.shape[0] == cfg['n_layers'] and name != 'tok'
            params = [torch.nn.Parameter(x.clone()) for x in t] if per_layer else [torch.nn.Parameter(t.clone())]
            self.weights.extend(params)
            self.p[name] = params if per_layer else params[0]
        self.p['wcls'] = self.p['tok']  # tied head (stories260K's vocab_size header is positive)

    def forward(self, input_ids, attention_mask=None, position_ids=None, *past_flat):
        if not self.with_past:
            return forward(self.cfg, self.p, input_ids)
        past = [(past_flat[2 * l], past_flat[2 * l + 1]) for l in range(self.cfg['n_layers'])]
        logits, present = forward_with_past(self.cfg, self.p, input_ids, position_ids, attention_mask, past)
        return (logits, *[t for kv in present for t in kv])


def export(model, args, path, inputs, outputs, axes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=False)
    print(f'{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes')


def main():
    torch.manual_seed(0)
    cfg, p = read_legacy(os.path.join(DATA, 'stories260K', 'stories260K.bin'))
    L, KV, hs = cfg['n_layers'], cfg['n_kv'], cfg['dim'] // cfg['n_heads']

    # The reference window and PyTorch's logits on it.
    paras = stories_paragraphs(os.path.join(DATA, 'tinystories', 'stories.txt'))
    first_val = len(paras) - val_doc_count(len(paras))
    _, ids = run_c_ids(paras, os.path.join(DATA, 'stories260K', 'tok512.bin'), os.path.join(DATA, 'stories260K', 'tok512.model'))
    para = next(i for i in range(first_val, len(paras)) if len(ids[i]) >= WINDOW - 1)
    window = [BOS] + ids[para][:WINDOW - 1]
    tokens = torch.tensor([window])
    with torch.no_grad():
        logits = forward(cfg, p, tokens)[0]
    os.makedirs(OUT, exist_ok=True)
    w = FixtureWriter(os.path.join(OUT, 'reference'), GENERATOR)
    w.case('stories260K-window', {'paragraph': para, 'tokens': window}, {'logits': logits})
    w.save()

    # (a) plain: traced at B=2, T=5; batch and sequence dynamic.
    seq = {0: 'batch_size', 1: 'sequence_length'}
    export(Stories260K(cfg, p, False).eval(), (torch.randint(0, cfg['vocab'], (2, 5)),), os.path.join(OUT, 'plain', 'model.onnx'),
           ['input_ids'], ['logits'], {'input_ids': seq, 'logits': seq})

    # (b) optimum layout: traced with a 3-position cache so that the past length is a traced dimension.
    B, T, P = 2, 5, 3
    kv_model = Stories260K(cfg, p, True).eval()
    past = [torch.randn(B, KV, P, hs) for _ in range(2 * L)]
    args = (torch.randint(0, cfg['vocab'], (B, T)), torch.ones(B, P + T, dtype=torch.long), torch.arange(P, P + T).repeat(B, 1), *past)
    past_names = [f'past_key_values.{l}.{part}' for l in range(L) for part in ('key', 'value')]
    present_names = [f'present.{l}.{part}' for l in range(L) for part in ('key', 'value')]
    total = 'past_sequence_length + sequence_length'
    axes = {'input_ids': seq, 'position_ids': seq, 'logits': seq, 'attention_mask': {0: 'batch_size', 1: total},
            **{n: {0: 'batch_size', 2: 'past_sequence_length'} for n in past_names},
            **{n: {0: 'batch_size', 2: total} for n in present_names}}
    export(kv_model, args, os.path.join(OUT, 'kv', 'model.onnx'), ['input_ids', 'attention_mask', 'position_ids', *past_names],
           ['logits', *present_names], axes)

    with open(os.path.join(OUT, 'kv', 'config.json'), 'w') as f:
        json.dump({'hidden_size': cfg['dim'], 'intermediate_size': cfg['hidden'], 'num_hidden_layers': L,
                   'num_attention_heads': cfg['n_heads'], 'num_key_value_heads': KV, 'vocab_size': cfg['vocab'],
                   'max_position_embeddings': cfg['seq_len'], 'tie_word_embeddings': True}, f, indent=1)
        f.write('\n')

    # Self-checks of the wrapper in PyTorch: an empty cache gives forward()'s logits, and the window
    # split in two (the second half continuing the first half's cache) gives them too.
    with torch.no_grad():
        empty = [(torch.zeros(1, KV, 0, hs), torch.zeros(1, KV, 0, hs)) for _ in range(L)]
        pos = torch.arange(WINDOW)[None]
        whole, _ = forward_with_past(cfg, p, tokens, pos, torch.ones(1, WINDOW, dtype=torch.long), empty)
        h = WINDOW // 2
        first, cache = forward_with_past(cfg, p, tokens[:, :h], pos[:, :h], torch.ones(1, h, dtype=torch.long), empty)
        second, _ = forward_with_past(cfg, p, tokens[:, h:], pos[:, h:], torch.ones(1, WINDOW, dtype=torch.long), cache)
    d_whole = (whole[0] - logits).abs().max().item()
    d_split = (torch.cat((first, second), dim=1)[0] - logits).abs().max().item()
    print(f'forward_with_past vs forward: empty cache {d_whole:.3g}, split window {d_split:.3g}')
    assert d_whole < 1e-4 and d_split < 1e-4, 'forward_with_past does not reproduce forward'


if __name__ == '__main__':
    main()
