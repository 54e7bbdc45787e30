// Which tokenizer a teacher's ids are of, for cross-tokenizer distillation (recipe
// loss.crossTokenizer): the file the recipe names, else the one the teacher's source carries (a
// checkpoint folder or GGUF, tokenizer.json beside an ONNX export, the file a GGUF run by llama.cpp
// holds, the one a store records). It opens no model and checks nothing against the run.
import { loadTokenizer, type Tokenizer } from '../data/index.js';
import { carriedTokenizerPath, loadCheckpoint } from '../io/load-model.js';
import { readManifest } from '../store/manifest.js';
import { besideModel, resolveOnnxPath } from './onnx-files.js';
import type { TeacherSpec } from './open-teacher.js';
import { TeacherError } from './teacher.js';

/** The teacher's tokenizer: `named` (loss.crossTokenizer.teacherTokenizer) when given, else the one its source carries. */
export function openTeacherTokenizer(spec: TeacherSpec, named: string | undefined, source: string): Tokenizer {
  if (named !== undefined) return loadTokenizer(named);
  let path: string | null = null;
  switch (spec.kind) {
    case 'checkpoint': path = carriedTokenizerPath(loadCheckpoint(spec.path)); break;
    case 'onnx': path = besideModel(resolveOnnxPath(spec.path, source), 'tokenizer.json'); break;
    case 'llama-cpp': path = spec.path; break;
    case 'store': path = readManifest(spec.path).tokenizerSource ?? null; break;
    case 'http': case 'none': break;
  }
  if (path === null) {
    throw new TeacherError(`${source}: key 'loss.crossTokenizer.teacherTokenizer': teacher kind '${spec.kind}'${'path' in spec ? ` (${spec.path})` : ''} carries no tokenizer distill can find; name the tokenizer file its ids are of`);
  }
  return loadTokenizer(path);
}
