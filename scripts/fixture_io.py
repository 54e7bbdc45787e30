# Writes test fixtures in distill's fixture format, for the PyTorch generator scripts.
# Format: NAME.json lists cases; each case has `params` (numbers/strings) and `tensors`
# {name: {dtype: 'f32'|'i32', shape: [...], offset: bytes, }} into NAME.bin (little-endian).
# Read back by test/helpers/fixtures.ts. Run generators with /usr/bin/python3 (PyTorch 1.13).
import json
import numpy as np


class FixtureWriter:
    def __init__(self, path_no_ext, generator):
        self.path = path_no_ext
        self.generator = generator
        self.cases = []
        self.blob = bytearray()

    def case(self, name, params, tensors):
        """tensors: dict name -> torch tensor or numpy array (float -> f32, int -> i32)."""
        table = {}
        for key, t in tensors.items():
            a = t.detach().cpu().numpy() if hasattr(t, 'detach') else np.asarray(t)
            if a.dtype.kind == 'f':
                a, dtype = a.astype('<f4'), 'f32'
            elif a.dtype.kind in 'iub':
                a, dtype = a.astype('<i4'), 'i32'
            else:
                raise TypeError(f'{key}: unsupported dtype {a.dtype}')
            table[key] = {'dtype': dtype, 'shape': list(a.shape), 'offset': len(self.blob)}
            self.blob += np.ascontiguousarray(a).tobytes()
        self.cases.append({'name': name, 'params': params, 'tensors': table})

    def save(self):
        with open(self.path + '.bin', 'wb') as f:
            f.write(bytes(self.blob))
        with open(self.path + '.json', 'w') as f:
            json.dump({'generator': self.generator, 'cases': self.cases}, f, indent=1)
            f.write('\n')
