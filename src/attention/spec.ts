/**
 * A variant as a run names it: parsing `--variants` entries (canonical names, the seed's
 * aliases, `grouped-query:4`), its label in results, its K/V heads for a given number of
 * query heads and the modes it exists in, each answered by the registered variant
 * (`registry.ts`, one file per variant in `variants/`).
 */
import { UsageError } from '../core/errors.ts';
import { ALIASES, findVariant, VARIANT_KINDS, variantOf } from './registry.ts';

/** A registered variant's canonical name (`registry.ts` lists them). */
export type VariantKind = string;

export interface VariantSpec {
  kind: VariantKind;
  /** K/V heads for a grouped variant (`grouped-query:g`, `fused-gqa:g`); fixed by the kind otherwise. */
  groups?: number;
}

export const MODES = ['seed', 'full'] as const;
export type Mode = (typeof MODES)[number];

/** Parse one variant name such as `multi-query-1`, `MultiQuery1` or `grouped-query:4`. */
export function parseVariant(text: string): VariantSpec {
  const [rawName = '', rawGroups, ...rest] = text.trim().split(':');
  const v = findVariant(rawName);
  if (!v || rest.length > 0) {
    throw new UsageError(`unknown variant '${text}' (known: ${VARIANT_KINDS.join(', ')}, ${Object.keys(ALIASES).join(', ')})`);
  }
  if (!v.grouped) {
    if (rawGroups !== undefined) throw new UsageError(`variant '${rawName}' takes no group count`);
    return { kind: v.name };
  }
  if (rawGroups === undefined) throw new UsageError(`variant '${rawName}' needs a K/V head count, e.g. ${rawName}:4`);
  if (!/^\d+$/.test(rawGroups) || Number(rawGroups) < 1) {
    throw new UsageError(`variant '${text}': K/V head count must be a positive integer`);
  }
  return { kind: v.name, groups: Number(rawGroups) };
}

/** Number of K/V heads; checks that the shape fits the variant (a group count divides the heads). */
export const kvHeads = (spec: VariantSpec, heads: number, headDim?: number): number => variantOf(spec.kind).kvHeads(heads, spec.groups, headDim);

/** The canonical name, as written in results. */
export function variantLabel(spec: VariantSpec): string {
  return spec.groups === undefined ? spec.kind : `${spec.kind}:${spec.groups}`;
}

/** Refuse a variant in a mode it does not exist in. */
export function checkMode(spec: VariantSpec, mode: Mode): void {
  const v = variantOf(spec.kind);
  if (!v.modes.includes(mode)) {
    throw new UsageError(`variant '${variantLabel(spec)}' exists in --mode ${v.modes.join(', ')} only${v.modesWhy ? ` (${v.modesWhy})` : ''}`);
  }
}
