/**
 * Attention variants by name: parsing `--variants` entries, the seed's aliases, and
 * how many K/V heads each variant has for a given number of query heads.
 */

import { UsageError } from '../core/errors.ts';

export type VariantKind =
  | 'multi-head'
  | 'multi-query'
  | 'multi-query-1'
  | 'grouped-query'
  | 'multi-query-separate'
  | 'fused-gqa';

export interface VariantSpec {
  kind: VariantKind;
  /** K/V heads for `grouped-query:g` and `fused-gqa:g`; fixed by the kind otherwise. */
  groups?: number;
}

export const MODES = ['seed', 'full'] as const;
export type Mode = (typeof MODES)[number];

export const VARIANT_KINDS: readonly VariantKind[] = [
  'multi-head',
  'multi-query',
  'multi-query-1',
  'grouped-query',
  'multi-query-separate',
  'fused-gqa',
];

/** The seed's class names and its `AttentionType` enum members. */
export const ALIASES: Readonly<Record<string, VariantKind>> = {
  MultiHead: 'multi-head',
  MultiQuery: 'multi-query',
  MultiQuery1: 'multi-query-1',
  MULTI_HEAD: 'multi-head',
  MULTI_QUERY: 'multi-query',
  MULTI_QUERY_1: 'multi-query-1',
};

const GROUPED: ReadonlySet<VariantKind> = new Set(['grouped-query', 'fused-gqa']);

/** Parse one variant name such as `multi-query-1`, `MultiQuery1` or `grouped-query:4`. */
export function parseVariant(text: string): VariantSpec {
  const [rawName = '', rawGroups, ...rest] = text.trim().split(':');
  const kind = (Object.hasOwn(ALIASES, rawName) ? ALIASES[rawName] : undefined) ?? (VARIANT_KINDS as readonly string[]).find((k) => k === rawName);
  if (!kind || rest.length > 0) {
    throw new UsageError(`unknown variant '${text}' (known: ${VARIANT_KINDS.join(', ')}, ${Object.keys(ALIASES).join(', ')})`);
  }
  const k = kind as VariantKind;
  if (!GROUPED.has(k)) {
    if (rawGroups !== undefined) throw new UsageError(`variant '${rawName}' takes no group count`);
    return { kind: k };
  }
  if (rawGroups === undefined) throw new UsageError(`variant '${rawName}' needs a K/V head count, e.g. ${rawName}:4`);
  if (!/^\d+$/.test(rawGroups) || Number(rawGroups) < 1) {
    throw new UsageError(`variant '${text}': K/V head count must be a positive integer`);
  }
  return { kind: k, groups: Number(rawGroups) };
}

/** Number of K/V heads; checks that the group count divides the heads. */
export function kvHeads(spec: VariantSpec, heads: number, headDim?: number): number {
  // ONNX Runtime's GroupQueryAttention kernel refuses other head sizes at run time
  if (spec.kind === 'fused-gqa' && headDim !== undefined && headDim % 8 !== 0) {
    throw new UsageError(`variant '${variantLabel(spec)}': the engine's GroupQueryAttention needs a head size that is a multiple of 8, got ${headDim}`);
  }
  switch (spec.kind) {
    case 'multi-head':
      return heads;
    case 'multi-query':
    case 'multi-query-1':
    case 'multi-query-separate':
      return 1;
    case 'grouped-query':
    case 'fused-gqa': {
      const g = spec.groups!;
      if (g > heads || heads % g !== 0) {
        throw new UsageError(`variant '${variantLabel(spec)}': ${g} K/V heads do not divide ${heads} heads`);
      }
      return g;
    }
  }
}

/** The canonical name, as written in results. */
export function variantLabel(spec: VariantSpec): string {
  return spec.groups === undefined ? spec.kind : `${spec.kind}:${spec.groups}`;
}

/** Variants that exist only in one mode. */
export function checkMode(spec: VariantSpec, mode: Mode): void {
  if (spec.kind === 'fused-gqa' && mode !== 'full') {
    throw new UsageError(`variant '${variantLabel(spec)}' exists in --mode full only (it is the engine's fused kernel)`);
  }
}
