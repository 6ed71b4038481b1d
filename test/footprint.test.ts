/**
 * The memory rule, once: contenders side by side hold every one's resident bytes plus the
 * largest transient. The layer sweep's refusal, one layer's peak and the generation plan
 * all read it from src/core/footprint.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { layerCost } from '../src/attention/cost.ts';
import { layerShape } from '../src/attention/layer.ts';
import { parseVariant } from '../src/attention/spec.ts';
import { sideBySideBytes } from '../src/core/footprint.ts';
import { groupMemory } from '../src/measure/group.ts';

test('side by side: every resident plus the largest transient, not the sum of the peaks', () => {
  assert.equal(sideBySideBytes([]), 0);
  assert.equal(sideBySideBytes([{ resident: 10, transient: 5 }]), 15);
  assert.equal(sideBySideBytes([{ resident: 10, transient: 5 }, { resident: 1, transient: 50 }, { resident: 2, transient: 0 }]), 13 + 50);
});

test("a configuration's variants are checked by that rule over their layer costs", () => {
  const jobs = ['multi-head', 'multi-query-1'].map((v) => ({ spec: parseVariant(v), batch: 2, seq: 64, heads: 4, headDim: 16, mode: 'full' as const, weightDtype: 'float32' as const }));
  const costs = jobs.map((j) => layerCost(layerShape(j.spec, j), j.mode));
  const g = groupMemory(jobs);
  assert.equal(g.what, 'batch 2 seq 64 (2 variants side by side)');
  assert.equal(g.bytes, costs[0]!.residentBytes + costs[1]!.residentBytes + Math.max(costs[0]!.transientBytes, costs[1]!.transientBytes));
  assert.ok(g.bytes < costs[0]!.memoryBytes + costs[1]!.memoryBytes, 'less than both peaks added');
  for (const c of costs) assert.equal(c.memoryBytes, c.residentBytes + c.transientBytes, 'one layer alone: its own peak');
});
