#!/usr/bin/python3
# Writes test/fixtures/tokenizers/*.json: reference token ids for a fixed multilingual sample,
# used by test/tokenizers.test.ts. It does not run in tests; rerun it only when the sample changes.
#
# References:
#   - SentencePiece (python3-sentencepiece, /usr/bin/python3) for tok512.model and the Llama 2
#     tokenizer.model: ids, pieces and decode(ids).
#   - llama2.c tokenizer.bin: a line-by-line Python transcription of run.c encode() (below), checked
#     here against SentencePiece wherever SentencePiece's whitespace rules agree with run.c.
#   - GPT-2 tokenizer.json: the npm package gpt-tokenizer@4.0.0 (r50k_base = GPT-2, a tiktoken port
#     independent of @huggingface/tokenizers), run through node when --gpt2-ref-dir names a folder
#     where it is installed; plus published ids that are certain ("Hello world" = [15496, 995]).
#
# Usage:
#   npm install --prefix /tmp/gpt2ref gpt-tokenizer@4.0.0
#   /usr/bin/python3 scripts/gen-tokenizer-fixtures.py --gpt2-ref-dir /tmp/gpt2ref
import argparse
import hashlib
import json
import os
import struct
import subprocess
import sys

import sentencepiece as spm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_tokenizer import read_llama2c, run_c_encode, run_c_ids, stories_paragraphs, val_doc_count  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, '..', 'shared', 'data')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'tokenizers')

TEXTS = [
    'Once upon a time, there was a little girl named Lily.',
    'Hello world',
    ' Hello world',
    'Hello  world   with    runs',
    '  leading and trailing  ',
    'line one\nline two\n\nafter a blank line\n',
    'tab\there and\r\nCRLF',
    'Café, naïve, résumé, façade, São Paulo',
    'Grüße aus München: Fußgängerübergänge sind schön.',
    '中文分词测试：我爱自然语言处理。',
    'Emoji: 🙂👍🏽🚀 and flags 🇩🇪',
    'Привет, мир! Как дела?',
    'def f(x):\n    return x ** 2  # square\n',
    'for (let i = 0; i < n; i++) { sum += a[i]; }',
    'Numbers 1234567890 and 3.14159, dates 2024-01-31.',
    '<s> and </s> and <unk> as plain text',
    '\u2581 literal lower one eighth block',
    'A',
    ' ',
    '',
]


def sha16(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def sp_fixture(model_path, name):
    sp = spm.SentencePieceProcessor(model_file=model_path)
    cases = []
    for t in TEXTS:
        ids = sp.encode(t)
        cases.append({'text': t, 'ids': ids, 'pieces': sp.id_to_piece(ids), 'decoded': sp.decode(ids)})
    return {
        'generator': f'/usr/bin/python3 scripts/gen-tokenizer-fixtures.py (sentencepiece {spm.__version__})',
        'file': os.path.relpath(model_path, ROOT), 'sha256_16': sha16(model_path),
        'vocab_size': sp.vocab_size(), 'bos_id': sp.bos_id(), 'eos_id': sp.eos_id(), 'cases': cases,
    }


def llama2c_fixture(bin_path, model_path, collapses_spaces):
    vocab, scores = read_llama2c(bin_path)
    sp = spm.SentencePieceProcessor(model_file=model_path)
    cases, agree = [], 0
    for t in TEXTS:
        ids = run_c_encode(vocab, scores, t)
        same_rules = not collapses_spaces or (t == t.strip(' ') and '  ' not in t)
        if '\u2581' in t:
            same_rules = False  # sentencepiece reads U+2581 as a space; run.c as a plain character
        if same_rules:
            if ids != sp.encode(t):
                sys.exit(f'run.c transcription disagrees with sentencepiece on {t!r}: {ids} vs {sp.encode(t)}')
            agree += 1
        cases.append({'text': t, 'ids': ids, 'same_as_sentencepiece': ids == sp.encode(t)})
    return {
        'generator': '/usr/bin/python3 scripts/gen-tokenizer-fixtures.py (run.c encode transcribed)',
        'file': os.path.relpath(bin_path, ROOT), 'sha256_16': sha16(bin_path), 'vocab_size': len(vocab),
        'checked_against_sentencepiece': agree, 'cases': cases,
    }


GPT2_KNOWN = {'Hello world': [15496, 995]}  # widely published GPT-2 ids (e.g. the HF GPT-2 docs)


def gpt2_fixture(ref_dir):
    script = (
        "const { encode } = require('gpt-tokenizer/cjs/encoding/r50k_base');"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(texts.map((t) => encode(t))));"
    )
    env = dict(os.environ, NODE_PATH=os.path.join(ref_dir, 'node_modules'))
    out = subprocess.run(['node', '-e', script], input=json.dumps(TEXTS), capture_output=True, text=True, env=env, check=True)
    all_ids = json.loads(out.stdout)
    for t, ids in GPT2_KNOWN.items():
        if all_ids[TEXTS.index(t)] != ids:
            sys.exit(f'gpt-tokenizer disagrees with the published ids for {t!r}')
    path = os.path.join(DATA, 'gpt2-tokenizer', 'tokenizer.json')
    return {
        'generator': '/usr/bin/python3 scripts/gen-tokenizer-fixtures.py --gpt2-ref-dir DIR (gpt-tokenizer@4.0.0 r50k_base)',
        'file': os.path.relpath(path, ROOT), 'sha256_16': sha16(path), 'vocab_size': 50257,
        'cases': [{'text': t, 'ids': ids} for t, ids in zip(TEXTS, all_ids)],
    }


# A tiny hand-built ModelProto exercising what the real models do not: a USER_DEFINED piece (never
# merged), an UNUSED piece (merged, then split back), unknown characters without byte fallback.
SYNTH_PIECES = [
    ('<unk>', 0.0, 2), ('<s>', 0.0, 3), ('</s>', 0.0, 3), ('<sep>', 0.0, 4),
    ('\u2581', -1.0, 1), ('a', -2.0, 1), ('b', -3.0, 1), ('c', -4.0, 1),
    ('ab', -0.5, 5), ('\u2581a', -1.5, 1), ('bc', -1.0, 1), ('\u2581ab', -0.7, 1), ('\u2581\u2581', -0.9, 1),
]
SYNTH_TEXTS = ['abc', 'cab', 'a<sep>b', 'ab  ab', 'xyz a', '<sep>', 'bcab<sep>abc']


def varint(n):
    out = b''
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wire, payload):
    if wire == 2:
        return varint(num << 3 | 2) + varint(len(payload)) + payload
    if wire == 5:
        return varint(num << 3 | 5) + payload
    return varint(num << 3) + varint(payload)


def synth_model(model_type):
    pieces = b''.join(field(1, 2, field(1, 2, p.encode()) + field(2, 5, struct.pack('<f', s)) + field(3, 0, t))
                      for p, s, t in SYNTH_PIECES)
    trainer = field(3, 0, model_type) + field(4, 0, len(SYNTH_PIECES))
    normalizer = field(1, 2, b'identity') + field(3, 0, 1) + field(4, 0, 0) + field(5, 0, 1)
    return pieces + field(2, 2, trainer) + field(3, 2, normalizer)


def synth_fixtures():
    os.makedirs(OUT, exist_ok=True)
    for name, mtype in (('synthetic-bpe.model', 2), ('synthetic-unigram.model', 1)):
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(synth_model(mtype))
    path = os.path.join(OUT, 'synthetic-bpe.model')
    sp = spm.SentencePieceProcessor(model_file=path)
    cases = []
    for t in SYNTH_TEXTS:
        ids = sp.encode(t)
        cases.append({'text': t, 'ids': ids, 'pieces': sp.id_to_piece(ids), 'decoded': sp.decode(ids)})
    return {
        'generator': f'/usr/bin/python3 scripts/gen-tokenizer-fixtures.py (sentencepiece {spm.__version__})',
        'file': os.path.relpath(path, ROOT), 'sha256_16': sha16(path), 'vocab_size': sp.vocab_size(),
        'bos_id': sp.bos_id(), 'eos_id': sp.eos_id(), 'cases': cases,
    }


def tinystories_split():
    """Token counts of shared/data/README.md's split: paragraphs at blank lines (trimmed), BOS + ids each, last 10% validation."""
    path = os.path.join(DATA, 'tinystories', 'stories.txt')
    paras = stories_paragraphs(path)
    n_val = val_doc_count(len(paras))
    n_train = len(paras) - n_val
    out = {'generator': '/usr/bin/python3 scripts/gen-tokenizer-fixtures.py', 'file': os.path.relpath(path, ROOT),
           'sha256_16': sha16(path), 'paragraphs': len(paras), 'train_docs': n_train, 'val_docs': n_val, 'cases': []}
    s260 = os.path.join(DATA, 'stories260K')
    sp_ids, rc_ids = run_c_ids(paras, os.path.join(s260, 'tok512.bin'), os.path.join(s260, 'tok512.model'))
    for name, ids in (('stories260K/tok512.model', sp_ids), ('stories260K/tok512.bin', rc_ids)):
        out['cases'].append({'tokenizer': name, 'train_tokens': sum(len(x) + 1 for x in ids[:n_train]),
                             'val_tokens': sum(len(x) + 1 for x in ids[n_train:]),
                             'first_doc': [1] + ids[0][:12], 'first_val_doc': [1] + ids[n_train][:12]})
    return out


def sp_to_hf_json(model_path):
    """A Llama-style (SentencePiece-BPE) tokenizer.json for a .model, as Hugging Face's LlamaConverter
    lays it out: vocab, merges ranked by the merged piece's score, Prepend+Replace normalizer,
    byte fallback, Replace/ByteFallback/Fuse/Strip decoder."""
    sp = spm.SentencePieceProcessor(model_file=model_path)
    n = sp.vocab_size()
    vocab = {sp.id_to_piece(i): i for i in range(n)}
    merges = []
    for piece, pid in vocab.items():
        if sp.is_control(pid) or sp.is_unknown(pid) or sp.is_byte(pid):
            continue
        for k in range(1, len(piece)):
            left, right = piece[:k], piece[k:]
            if left in vocab and right in vocab:
                merges.append((-sp.get_score(pid), pid, vocab[left], vocab[right], f'{left} {right}'))
    merges.sort()
    special = lambda i: {'id': i, 'content': sp.id_to_piece(i), 'single_word': False, 'lstrip': False,
                         'rstrip': False, 'normalized': False, 'special': True}
    return {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [special(0), special(1), special(2)],
        'normalizer': {'type': 'Sequence', 'normalizers': [{'type': 'Prepend', 'prepend': '\u2581'},
                                                            {'type': 'Replace', 'pattern': {'String': ' '}, 'content': '\u2581'}]},
        'pre_tokenizer': None,
        'post_processor': {'type': 'TemplateProcessing',
                           'single': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
                           'pair': [{'SpecialToken': {'id': '<s>', 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                                    {'SpecialToken': {'id': '<s>', 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
                           'special_tokens': {'<s>': {'id': '<s>', 'ids': [1], 'tokens': ['<s>']}}},
        'decoder': {'type': 'Sequence', 'decoders': [
            {'type': 'Replace', 'pattern': {'String': '\u2581'}, 'content': ' '}, {'type': 'ByteFallback'},
            {'type': 'Fuse'}, {'type': 'Strip', 'content': ' ', 'start': 1, 'stop': 0}]},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': '<unk>', 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': True, 'byte_fallback': True, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [m[4] for m in merges]},
    }


def tok512_hf_fixture():
    model_path = os.path.join(DATA, 'stories260K', 'tok512.model')
    path = os.path.join(OUT, 'tok512-llama-style.tokenizer.json')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(sp_to_hf_json(model_path), f, ensure_ascii=False)
    sp = spm.SentencePieceProcessor(model_file=model_path)
    # tok512.model collapses runs of spaces (remove_extra_whitespaces); the JSON, like Llama's, does not.
    # Hugging Face matches added tokens (<s>, </s>, <unk>) inside the text; sentencepiece does not.
    texts = [t for t in TEXTS if t == t.strip(' ') and '  ' not in t and '\u2581' not in t and '<s>' not in t]
    return {
        'generator': f'/usr/bin/python3 scripts/gen-tokenizer-fixtures.py (sentencepiece {spm.__version__} ids for tok512.model)',
        'file': os.path.relpath(path, ROOT), 'sha256_16': sha16(path), 'vocab_size': sp.vocab_size(),
        'cases': [{'text': t, 'ids': sp.encode(t)} for t in texts],
    }


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), 'w', encoding='utf-8') as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write('\n')
    print('wrote', os.path.join('test/fixtures/tokenizers', name), len(obj['cases']), 'cases')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gpt2-ref-dir', help='folder with node_modules/gpt-tokenizer (4.0.0) installed')
    args = ap.parse_args()
    s260 = os.path.join(DATA, 'stories260K')
    llama = os.path.join(DATA, 'llama2c-tokenizer')
    write('tok512-model.json', sp_fixture(os.path.join(s260, 'tok512.model'), 'tok512'))
    write('llama2-model.json', sp_fixture(os.path.join(llama, 'tokenizer.model'), 'llama2'))
    write('tok512-bin.json', llama2c_fixture(os.path.join(s260, 'tok512.bin'), os.path.join(s260, 'tok512.model'), True))
    write('llama2-bin.json', llama2c_fixture(os.path.join(llama, 'tokenizer.bin'), os.path.join(llama, 'tokenizer.model'), False))
    write('synthetic-bpe.json', synth_fixtures())
    write('tinystories-split.json', tinystories_split())
    write('tok512-llama-style-json.json', tok512_hf_fixture())
    if args.gpt2_ref_dir:
        write('gpt2-json.json', gpt2_fixture(args.gpt2_ref_dir))
    else:
        print('skipped gpt2-json.json (no --gpt2-ref-dir)')


if __name__ == '__main__':
    main()
