// Loads a recipe: YAML file → `key.path=value` overrides → schema validation → file checks.
// Errors are RecipeErrors naming the file and the key path; nothing here trains or loads models.
// Relative paths in a recipe are taken from the current directory (where `distill run` is
// started), as torchtune does, so recipes/ files can name ../shared/data/... from the repo root.
import { existsSync, readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { z } from 'zod';
import { Recipe } from './schema.js';

export class RecipeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecipeError';
  }
}

type Tree = Record<string, unknown>;

/** Applies `a.b.c=value` overrides in order; the value is parsed as a YAML scalar/flow value. */
export function applyOverrides(tree: Tree, overrides: readonly string[]): Tree {
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new RecipeError(`override '${o}': expected key.path=value`);
    const keys = o.slice(0, eq).split('.');
    if (keys.some((k) => k === '')) throw new RecipeError(`override '${o}': empty key in path`);
    let value: unknown;
    try {
      value = parse(o.slice(eq + 1));
    } catch (e) {
      throw new RecipeError(`override '${o}': value is not valid YAML (${(e as Error).message.split('\n')[0]})`);
    }
    let node: Tree = tree;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      if (next === undefined || next === null) node[k] = {};
      else if (typeof next !== 'object' || Array.isArray(next)) {
        throw new RecipeError(`override '${o}': '${k}' is a ${Array.isArray(next) ? 'list' : typeof next}, not a section`);
      }
      node = node[k] as Tree;
    }
    node[keys[keys.length - 1]] = value;
  }
  return tree;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `unknown key '${at ? `${at}.` : ''}${k}'`).join('; ');
  }
  return `key '${at || '(top level)'}': ${issue.message}`;
}

/** Validates a parsed tree; throws one RecipeError listing every problem with its key path. */
export function validateRecipe(tree: unknown, source: string): Recipe {
  const r = Recipe.safeParse(tree);
  if (!r.success) {
    const lines = r.error.issues.map(describeIssue);
    throw new RecipeError(`${source}: invalid recipe:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}

/** The files a recipe names, with their key paths (checked to exist before anything runs). */
export function recipeFiles(r: Recipe): [key: string, path: string][] {
  const files: [string, string][] = [['data.path', r.data.path], ['data.tokenizer', r.data.tokenizer]];
  if (r.data.valPath !== undefined) files.push(['data.valPath', r.data.valPath]);
  r.eval.extra.forEach((x, i) => files.push([`eval.extra[${i}].path`, x.path]));
  if (r.teacher.kind === 'checkpoint' || r.teacher.kind === 'onnx' || r.teacher.kind === 'llama-cpp') files.push(['teacher.path', r.teacher.path]);
  if (r.student.kind === 'checkpoint') files.push(['student.path', r.student.path]);
  return files;
}

/** Cross-field rules the schema cannot say. */
function checkConsistency(r: Recipe, source: string): void {
  const problems: string[] = [];
  if (r.train.batchSize % r.train.gradAccum !== 0) {
    problems.push(`key 'train.gradAccum': ${r.train.gradAccum} does not divide train.batchSize ${r.train.batchSize}`);
  }
  if (r.data.valPath !== undefined && (r.data.format === 'pairs' || r.data.format === 'chat')) {
    problems.push(`key 'data.valPath': a separate validation file works with data.format text or jsonl, not ${r.data.format}`);
  }
  if (r.student.kind === 'from-teacher' && r.teacher.kind !== 'checkpoint') {
    problems.push(`key 'student.kind': from-teacher needs a teacher of kind checkpoint, got '${r.teacher.kind}'`);
  }
  if (r.loss.hidden && r.teacher.kind !== 'checkpoint') {
    problems.push(`key 'loss.hidden': hidden-state distillation reads the teacher's residual states; it needs a teacher of kind checkpoint, got '${r.teacher.kind}'`);
  }
  if (r.student.kind === 'config' && r.student.nKvHeads !== undefined && r.student.nHeads % r.student.nKvHeads !== 0) {
    problems.push(`key 'student.nKvHeads': ${r.student.nKvHeads} does not divide student.nHeads ${r.student.nHeads}`);
  }
  if (problems.length) throw new RecipeError(`${source}: invalid recipe:\n  ${problems.join('\n  ')}`);
}

/** Parses a YAML file (a recipe, a sweep); a missing file or bad YAML is one `error` naming the file. */
export function readYamlFile(path: string, what: string, error: (message: string) => Error): unknown {
  if (!existsSync(path)) throw error(`${what} file not found: ${path}`);
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw error(`${path}: not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Reads, overrides, validates and checks a recipe file. */
export function loadRecipe(path: string, overrides: readonly string[] = [], opts: { checkFiles?: boolean } = {}): Recipe {
  const tree = readYamlFile(path, 'recipe', (m) => new RecipeError(m));
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) {
    throw new RecipeError(`${path}: a recipe is a YAML mapping (key: value lines), got ${Array.isArray(tree) ? 'a list' : String(tree)}`);
  }
  const recipe = validateRecipe(applyOverrides(tree as Tree, overrides), path);
  checkConsistency(recipe, path);
  if (opts.checkFiles !== false) {
    for (const [key, file] of recipeFiles(recipe)) {
      if (!existsSync(file)) throw new RecipeError(`${path}: key '${key}': file not found: ${file}`);
    }
  }
  return recipe;
}

/** The resolved recipe (every default filled in) as YAML, saved with each run. */
export function resolvedRecipeYaml(r: Recipe): string {
  return stringify(r);
}
