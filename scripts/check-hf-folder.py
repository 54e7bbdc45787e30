#!/usr/bin/python3
# Checks a Hugging Face model folder with an independent reader (scripts/hf_numpy.py; numpy only,
# since Debian packages neither safetensors nor transformers): every tensor is read, its name and
# shape must be what transformers' LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM /
# GPT2LMHeadModel builds from config.json (a tied head may be absent or an alias), the config keys
# those classes read must be there, and, for the Llama family, a greedy continuation from BOS by a
# float64 forward pass is printed (compare it with `distill generate --temperature 0`).
#   /usr/bin/python3 scripts/check-hf-folder.py FOLDER [--steps 24] [--expect-ids 1,2,3]
import argparse
import json
import os
import sys

from hf_numpy import expected_tensors, greedy, read_folder

CONFIG_KEYS = {
    'GPT2LMHeadModel': ['model_type', 'n_embd', 'n_layer', 'n_head', 'vocab_size', 'n_positions', 'layer_norm_epsilon', 'activation_function'],
    'llama': ['model_type', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
              'vocab_size', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta', 'hidden_act', 'tie_word_embeddings'],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('folder')
    ap.add_argument('--steps', type=int, default=24)
    ap.add_argument('--expect-ids', default=None, help='comma-separated ids the greedy continuation must equal (BOS first)')
    a = ap.parse_args()
    cfg, tensors, aliases = read_folder(a.folder)
    arch = cfg['architectures'][0]
    problems = []
    for k in CONFIG_KEYS['GPT2LMHeadModel' if arch == 'GPT2LMHeadModel' else 'llama']:
        if k not in cfg:
            problems.append(f'config.json lacks {k}')
    want = expected_tensors(cfg)
    names = set(tensors) | set(aliases)
    for name, shape in want.items():
        if name not in names:
            problems.append(f'missing tensor {name} {shape}')
            continue
        got = list(tensors[aliases.get(name, name)][1].shape)
        if got != shape:
            problems.append(f'{name}: shape {got}, expected {shape}')
    tied_head = 'lm_head.weight' not in want
    for name in tensors:
        if name not in want and not (tied_head and name == 'lm_head.weight') and not name.endswith('rotary_emb.inv_freq'):
            problems.append(f'unexpected tensor {name}')
    n_params = sum(a.size for n, (_, a) in tensors.items() if not (tied_head and n == 'lm_head.weight' and 'model.embed_tokens.weight' in tensors))
    dtypes = sorted({d for d, _ in tensors.values()})
    print(f'{a.folder}: {arch}, {len(tensors)} tensors ({", ".join(dtypes)}), {n_params} parameters read, {len(aliases)} alias(es)')
    for f in ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']:
        print(f'  {f}: {"present" if os.path.exists(os.path.join(a.folder, f)) else "absent"}')
    if problems:
        print('PROBLEMS:\n  ' + '\n  '.join(problems))
        sys.exit(1)
    if arch != 'GPT2LMHeadModel':
        w = {n: x for n, (_, x) in tensors.items()}
        for alias, stored in aliases.items():
            w[alias] = w[stored]
        if 'model.embed_tokens.weight' not in w and 'lm_head.weight' in w:
            w['model.embed_tokens.weight'] = w['lm_head.weight']
        gen = os.path.join(a.folder, 'generation_config.json')
        bos = json.load(open(gen)).get('bos_token_id') if os.path.exists(gen) else None
        bos = bos if bos is not None else cfg.get('bos_token_id', 1)
        ids, _, margin = greedy(cfg, w, [bos], a.steps)
        print(f'  greedy from BOS (float64 numpy): {",".join(map(str, ids))} (min top-2 margin {margin:.3g})')
        if a.expect_ids is not None:
            exp = [int(x) for x in a.expect_ids.split(',')]
            if ids[:len(exp)] != exp[:len(ids)]:
                print(f'  MISMATCH: expected {exp}')
                sys.exit(1)
            print('  matches --expect-ids')
    print('OK: names, shapes and config keys are what transformers expects')


main()
