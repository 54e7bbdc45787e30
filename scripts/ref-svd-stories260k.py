# Singular values numpy gives for two stories260K matrices (float64 SVD of the float32 weights), the
# reference of test/shrink.test.ts's SVD check. Run: /usr/bin/python3 scripts/ref-svd-stories260k.py
import numpy as np, struct
b = open('../shared/data/stories260K/stories260K.bin','rb').read()
dim, hid, L, nh, nkv, V, S = struct.unpack('7i', b[:28])
f = np.frombuffer(b[28:], dtype=np.float32)
o = V*dim + L*dim  # tok_embeddings, attn_norm
wq = f[o:o+L*dim*dim].reshape(L, dim, dim)
o += L*dim*dim
kv = dim//nh*nkv
o += 2*L*kv*dim + L*dim*dim + L*dim  # wk, wv, wo, ffn_norm
w1 = f[o:o+L*hid*dim].reshape(L, hid, dim)
for name, m in [('layers.0.wq', wq[0]), ('layers.2.w1', w1[2])]:
    s = np.linalg.svd(m.astype(np.float64), compute_uv=False)
    print(name, m.shape, [float(x) for x in s[:4]], float(s[-1]))
