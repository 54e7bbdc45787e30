#!/usr/bin/python3
# Greedy continuation of the TinyStories-656K Hugging Face model (../shared/data/tinystories-656k)
# from BOS, by the independent float64 numpy forward pass of scripts/hf_numpy.py (written from the
# transformers Llama definition; it reads model.safetensors itself, following the header's
# __metadata__ alias for the tied matrix, and does not import distill). Writes
# test/fixtures/hf/tinystories656k-greedy.json: the greedy ids, the logits after BOS, and the
# smallest top-1/top-2 margin (how safely an f32 engine can be asked to reproduce the same ids).
#   /usr/bin/python3 scripts/ref-generate-tinystories656k.py
import json
import os
import sys

from hf_numpy import greedy, read_folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(ROOT, '..', 'shared', 'data', 'tinystories-656k')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'hf', 'tinystories656k-greedy.json')
STEPS = 40


def main():
    cfg, tensors, aliases = read_folder(MODEL)
    w = {n: a for n, (_, a) in tensors.items()}
    for alias, stored in aliases.items():
        w[alias] = w[stored]
    ids, first, margin = greedy(cfg, w, [cfg['bos_token_id']], STEPS)
    json.dump({
        'generator': 'scripts/ref-generate-tinystories656k.py (float64 numpy, transformers Llama definition)',
        'model': '../shared/data/tinystories-656k', 'bos': cfg['bos_token_id'], 'ids': ids,
        'logitsAfterBos': [round(float(v), 7) for v in first], 'minTop2Margin': float(margin),
    }, open(OUT, 'w'))
    print(f'{OUT}: {len(ids)} ids, min top-1/top-2 margin {margin:.4g}', file=sys.stderr)


main()
