# The PyTorch side of `npm run bench` (bench/step.ts): the same three workloads on the same shapes
# as ours (teacher forward, student hard-CE step, online KD step), a minimal Llama written here
# (RMSNorm, rotary, SwiGLU, tied head), random weights and tokens. Prints one JSON line per
# workload. It is a yardstick only: it shares no code or weights with distill.
#
# It sets PyTorch up at its best on the CPU at hand (torch_env below), then probes which BLAS torch
# really calls and refuses to run on the reference BLAS (Debian's torch without libopenblas0 runs
# its matmuls at ~3.6 GFLOP/s: any comparison would be void). Run it the way the bench does:
#   /usr/bin/python3 bench/torch_step_bench.py            # every workload, each in its own process
#   /usr/bin/python3 bench/torch_step_bench.py --probe    # only: which BLAS, which kernel, how fast
# DISTILL_ISA=avx2 caps PyTorch to AVX2 too (OpenBLAS Haswell kernels, ATen and oneDNN at AVX2), so
# an AVX-512 machine can stand in for an AVX2-only one on both sides.
# Each workload runs in its own child process so peak RSS (ru_maxrss) is per workload.
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

SHAPES = {
    # stories15M-shaped teacher and a 5M student (issue 5); batch 8, seq 256, vocab 32000.
    'teacher': dict(dim=288, n_layers=6, n_heads=6, hidden=768, vocab=32000),
    'student': dict(dim=128, n_layers=4, n_heads=4, hidden=384, vocab=32000),
}
B, T = 8, 256
ALPHA = 0.5          # α·CE + (1−α)·KD, as the default recipe
LR = 1e-3
CLIP = 1.0           # the training loop clips the global grad norm before AdamW; so do we


def build(torch, nn, F, cfg, seed):
    """A minimal Llama (llama2.c conventions: interleaved rotary pairs) with a tied head."""
    torch.manual_seed(seed)
    dim, nh, hidden, vocab = cfg['dim'], cfg['n_heads'], cfg['hidden'], cfg['vocab']
    hs = dim // nh

    class RMSNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.weight

    def rope(x, cos, sin):  # x (B,T,NH,HS), pairs (2i, 2i+1)
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm, self.ffn_norm = RMSNorm(), RMSNorm()
            self.wq, self.wk, self.wv, self.wo = (nn.Linear(dim, dim, bias=False) for _ in range(4))
            self.w1 = nn.Linear(dim, hidden, bias=False)
            self.w3 = nn.Linear(dim, hidden, bias=False)
            self.w2 = nn.Linear(hidden, dim, bias=False)

        def forward(self, x, cos, sin, mask):
            b, t, _ = x.shape
            h = self.attn_norm(x)
            q = rope(self.wq(h).view(b, t, nh, hs), cos, sin).transpose(1, 2)
            k = rope(self.wk(h).view(b, t, nh, hs), cos, sin).transpose(1, 2)
            v = self.wv(h).view(b, t, nh, hs).transpose(1, 2)
            s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs)) + mask
            a = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, dim)
            x = x + self.wo(a)
            h = self.ffn_norm(x)
            return x + self.w2(F.silu(self.w1(h)) * self.w3(h))

    class Llama(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(vocab, dim)
            self.layers = nn.ModuleList(Block() for _ in range(cfg['n_layers']))
            self.norm = RMSNorm()
            inv = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
            ang = torch.outer(torch.arange(T).float(), inv)  # (T, HS/2)
            self.register_buffer('cos', ang.cos()[None, :, None, :], persistent=False)
            self.register_buffer('sin', ang.sin()[None, :, None, :], persistent=False)
            self.register_buffer('mask', torch.full((T, T), float('-inf')).triu(1), persistent=False)
            for p in self.parameters():
                if p.dim() == 2:
                    nn.init.normal_(p, std=0.02)

        def forward(self, ids):
            x = self.tok(ids)
            for layer in self.layers:
                x = layer(x, self.cos, self.sin, self.mask)
            return self.norm(x) @ self.tok.weight.t()  # tied head

    return Llama()


WORKLOADS = ['teacher-forward', 'ce-step', 'kd-step', 'teacher-forward-bf16', 'kd-step-bf16']
AVX512 = {'avx512f', 'avx512bw', 'avx512vl', 'avx512dq'}  # what distill's engine needs for avx512
TCMALLOC = ['/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4', '/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4']


def cpu_flags():
    for line in open('/proc/cpuinfo'):
        if line.startswith('flags'):
            return set(line.split(':', 1)[1].split())
    return set()


def torch_env(base):
    """The environment for PyTorch at its best on this CPU (capped at AVX2 under DISTILL_ISA=avx2)."""
    env = dict(base)
    # A machine may preset a core type for older OpenBLAS builds (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE):
    # the bench decides itself, from the CPU's own flags.
    for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'ATEN_CPU_CAPABILITY', 'DNNL_MAX_CPU_ISA'):
        env.pop(k, None)
    flags = cpu_flags()
    capped = base.get('DISTILL_ISA') in ('avx2', 'scalar')
    if capped:
        # Stand in for an AVX2-only machine: every PyTorch path at AVX2, as distill's engine.
        env.update(OPENBLAS_CORETYPE='Haswell', ATEN_CPU_CAPABILITY='avx2', DNNL_MAX_CPU_ISA='AVX2')
    elif AVX512 <= flags:
        # OpenBLAS 0.3.21 does not know Zen 4/5 (nor every Xeon) and would fall back to its AVX2
        # kernels: name its AVX-512 kernels, which this CPU runs.
        env['OPENBLAS_CORETYPE'] = 'SkylakeX'
    # else: an AVX2-only CPU; OpenBLAS picks its own kernels from cpuid (Zen on AMD, Haswell on Intel).
    env['OMP_WAIT_POLICY'] = 'PASSIVE'  # idle OpenMP threads sleep instead of spinning against ours
    # glibc's malloc hands each step's large tensors (logits: 2048 x 32000 floats) back to the OS
    # and page-faults them in again the next step; on a VM where a fault is expensive that alone
    # made the KD step 7x slower. tcmalloc keeps them (the allocator PyTorch's CPU tuning guides
    # recommend); jemalloc, tried too, returns them and did not help.
    tcmalloc = next((p for p in TCMALLOC if os.path.exists(p)), None)
    if tcmalloc and base.get('BENCH_TORCH_MALLOC') != 'glibc':  # glibc: PyTorch as installed, for comparison
        env['LD_PRELOAD'] = ' '.join(x for x in (tcmalloc, base.get('LD_PRELOAD')) if x)
    return env


def probe():
    """Which BLAS torch's matmul calls (the library mapped into this process), OpenBLAS's kernel,
    and the matmul speed on the head shape. Exits 3 on the reference BLAS."""
    import ctypes
    import torch
    torch.set_num_threads(2)
    a, b = torch.randn(2048, 288), torch.randn(288, 32000)
    c = a @ b
    libs = sorted({line.split()[-1] for line in open('/proc/self/maps')
                   if any(n in line for n in ('blas', 'mkl', 'lapack', 'blis'))})
    fast = [lib for lib in libs if any(n in lib for n in ('openblas', 'mkl', 'blis'))]
    core = None
    for lib in fast:
        if 'openblas' in lib:
            try:
                f = ctypes.CDLL(lib).openblas_get_corename
                f.restype = ctypes.c_char_p
                core = f().decode()
            except (OSError, AttributeError):
                pass
            break
    reps, t0 = 3, time.perf_counter()
    for _ in range(reps):
        torch.mm(a, b, out=c)  # into the same output: the BLAS's speed, not the allocator's
    gflops = 2 * 2048 * 288 * 32000 * reps / (time.perf_counter() - t0) / 1e9
    out = {'probe': True, 'torch': torch.__version__, 'blas': fast[0] if fast else (libs[0] if libs else None),
           'openblasCore': core, 'matmulGflops': gflops, 'atenCapability': os.environ.get('ATEN_CPU_CAPABILITY'),
           'allocator': next((x for x in TCMALLOC if x in os.environ.get('LD_PRELOAD', '')), 'glibc malloc'),
           'openblasCoretype': os.environ.get('OPENBLAS_CORETYPE')}
    print(json.dumps(out), flush=True)
    if not fast:
        print(f'torch_step_bench: PyTorch runs its matmuls on the reference BLAS ({out["blas"]}, '
              f'{gflops:.1f} GFLOP/s on 2048x288x32000): a comparison against it means nothing. '
              'Install an optimized one: apt-get install -y libopenblas0-pthread', file=sys.stderr)
        sys.exit(3)


def run_workload(name, warmup, steps):
    if name.endswith('-bf16') and 'amx_tile' in cpu_flags() and 'DNNL_MAX_CPU_ISA' not in os.environ:
        # Debian's PyTorch 1.13 dies with SIGILL in oneDNN's AMX bf16 kernels (even with the tile
        # permission granted); capped at AVX512_CORE_BF16 its bf16 matmuls run.
        os.environ['DNNL_MAX_CPU_ISA'] = 'AVX512_CORE_BF16'
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(1)
    V = SHAPES['student']['vocab']
    windows = torch.randint(0, V, (B, T + 1), generator=g)
    inputs, targets = windows[:, :-1].contiguous(), windows[:, 1:].contiguous()

    # '-bf16': the teacher module cast to bfloat16 (weights and activations; PyTorch has no
    # bf16-weights-only mode), its logits taken back to float32 for the loss.
    bf16 = name.endswith('-bf16')
    base = name[:-len('-bf16')] if bf16 else name

    def make_teacher():
        t = build(torch, nn, F, SHAPES['teacher'], 2).eval()
        return t.to(torch.bfloat16) if bf16 else t

    if base == 'teacher-forward':
        teacher = make_teacher()

        def step():
            with torch.no_grad():
                teacher(inputs).float()
    else:
        student = build(torch, nn, F, SHAPES['student'], 3)
        opt = torch.optim.AdamW(student.parameters(), lr=LR, weight_decay=0.1, foreach=True)
        teacher = make_teacher() if base == 'kd-step' else None

        def step():
            opt.zero_grad(set_to_none=True)
            logits = student(inputs).view(B * T, V)
            loss = F.cross_entropy(logits, targets.view(-1))
            if teacher is not None:
                with torch.no_grad():
                    t_logp = F.log_softmax(teacher(inputs).float().view(B * T, V), dim=-1)
                kl = F.kl_div(F.log_softmax(logits, dim=-1), t_logp, log_target=True, reduction='batchmean')
                loss = ALPHA * loss + (1 - ALPHA) * kl  # T = 1, so the T² scale is 1
            loss.backward()
            torch.nn.utils.clip_grad_norm_(student.parameters(), CLIP)
            opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    print(json.dumps({
        'workload': name, 'tokensPerSec': B * T / med, 'stepSeconds': med, 'steps': steps,
        'peakRssBytes': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        'torch': torch.__version__, 'threads': torch.get_num_threads(),
    }), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--workload', choices=WORKLOADS)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--steps', type=int, default=5)
    ap.add_argument('--probe', action='store_true', help='only print which BLAS torch uses, and how fast')
    ap.add_argument('--child', action='store_true', help=argparse.SUPPRESS)  # env already set up
    a = ap.parse_args()
    if a.child:
        probe() if a.probe else run_workload(a.workload, a.warmup, a.steps)
        return
    env = torch_env(os.environ)

    def child(*args):
        return subprocess.run([sys.executable, __file__, '--child', *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)

    r = child('--probe')
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    sys.stdout.flush()
    if r.returncode != 0 or a.probe:
        sys.exit(r.returncode)
    for w in [a.workload] if a.workload else WORKLOADS:
        r = child('--workload', w, '--warmup', str(a.warmup), '--steps', str(a.steps))
        if r.returncode != 0:
            # A workload PyTorch cannot run here (1.13's bf16 linear needs AVX-512 in oneDNN) is a
            # row without a comparison, not a failed bench: say why on that row.
            err = (r.stderr.strip().splitlines() or [f'exit {r.returncode}'])[-1]
            r.stdout = json.dumps({'workload': w, 'error': err[:200]}) + '\n'
        sys.stdout.write(r.stdout)
        sys.stdout.flush()


if __name__ == '__main__':
    main()
