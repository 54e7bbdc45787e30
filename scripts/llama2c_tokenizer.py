# The llama2.c tokenizer.bin reader, a transcription of run.c's encode(), and the stories.txt
# split of shared/data/README.md tokenized with them: shared by the fixture generators. Pure
# Python (sentencepiece only as a fast path); it does not import distill or write anything.
import re
import struct


def read_llama2c(path):
    """tokenizer.bin: int32 max_token_length, then per token float32 score, int32 len, bytes."""
    with open(path, 'rb') as f:
        data = f.read()
    (max_len,) = struct.unpack_from('<i', data, 0)
    off, vocab, scores = 4, [], []
    while off < len(data):
        score, n = struct.unpack_from('<fi', data, off)
        vocab.append(data[off + 8:off + 8 + n])
        scores.append(score)
        off += 8 + n
    return vocab, scores


def run_c_encode(vocab, scores, text):
    """karpathy/llama2.c run.c encode(t, text, bos=0, eos=0), transcribed."""
    lookup = {}
    for i, v in enumerate(vocab):
        lookup.setdefault(v, i)
    raw = text.encode('utf-8')
    tokens = []
    if len(raw) > 0:
        tokens.append(lookup[b' '])
    buf = b''
    for i, c in enumerate(raw):
        if (c & 0xC0) != 0x80:
            buf = b''
        buf += bytes([c])
        nxt = raw[i + 1] if i + 1 < len(raw) else 0
        if (nxt & 0xC0) == 0x80 and len(buf) < 4:
            continue
        if buf in lookup:
            tokens.append(lookup[buf])
        else:
            tokens.extend(b + 3 for b in buf)
        buf = b''
    while True:
        best_score, best_id, best_idx = -1e10, -1, -1
        for i in range(len(tokens) - 1):
            j = lookup.get(vocab[tokens[i]] + vocab[tokens[i + 1]], -1)
            if j != -1 and scores[j] > best_score:
                best_score, best_id, best_idx = scores[j], j, i
        if best_idx == -1:
            break
        tokens[best_idx] = best_id
        del tokens[best_idx + 1]
    return tokens


def stories_paragraphs(path):
    """shared/data/README.md's documents: paragraphs at blank lines (CRLF as LF), trimmed, empty ones dropped."""
    with open(path, encoding='utf-8') as f:
        text = f.read().replace('\r\n', '\n')
    return [p.strip() for p in re.split(r'\n{2,}', text) if p.strip()]


def val_doc_count(n_docs, fraction=0.1):
    """The last round(n * fraction) documents are validation (README convention; 430 of 4,300)."""
    return round(n_docs * fraction)


def run_c_ids(paras, bin_path, model_path):
    """(sentencepiece ids, run.c ids) of each paragraph, without BOS. run.c ids are sentencepiece's
    wherever the two whitespace rules agree (checked by gen-tokenizer-fixtures.py on its sample),
    else the slow transcription: ~1 s for stories.txt instead of ~15 s."""
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=model_path)
    vocab, scores = read_llama2c(bin_path)
    sp_ids = [sp.encode(p) for p in paras]
    rc_ids = [ids if (p == p.strip(' ') and '  ' not in p and '\u2581' not in p) else run_c_encode(vocab, scores, p)
              for p, ids in zip(paras, sp_ids)]
    return sp_ids, rc_ids
