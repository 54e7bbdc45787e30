# Checks ONNX files distill exported with the reference checker of the onnx package:
# onnx.checker.check_model(model, full_check=True), which also runs strict shape inference.
# Run: /usr/bin/python3 scripts/check-onnx.py OUT/onnx/model.onnx [more.onnx ...]
# (Debian's python3-onnx: `apt-get install -y python3-onnx`). Not part of npm test: the tests run
# the files in onnxruntime-node instead and never need Python. Exit status 1 if any file fails.
import sys

import onnx


def describe(model):
    g = model.graph
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    ops = sorted({n.op_type for n in g.node})
    return (f"IR {model.ir_version}, opset {opsets}; {len(g.node)} nodes, {len(g.initializer)} initializers; "
            f"inputs {[i.name for i in g.input]}; outputs {[o.name for o in g.output]}; ops {ops}")


def main(paths):
    if not paths:
        print("usage: /usr/bin/python3 scripts/check-onnx.py FILE.onnx [...]", file=sys.stderr)
        return 2
    print(f"onnx {onnx.__version__}")
    failed = 0
    for path in paths:
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            print(f"OK   {path}: {describe(model)}")
        except Exception as e:  # the checker raises ValidationError / InferenceError; report any failure the same way
            failed += 1
            print(f"FAIL {path}: {type(e).__name__}: {e}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
