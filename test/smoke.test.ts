// Smoke test: the backend selection honours DISTILL_BACKEND and the native addon reports its ISA.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, selectBackend } from '../src/engine/select.js';

test('ref backend is always available', () => {
  assert.equal(availableBackends()[0].name, 'ref');
  assert.equal(selectBackend('ref').name, 'ref');
});

test('an unknown backend name is refused with the value named', () => {
  assert.throws(() => selectBackend('cuda'), /DISTILL_BACKEND must be 'ref' or 'native', got 'cuda'/);
});
