/**
 * What makes an attention variant, in one object: its names, the modes it exists in, its
 * K/V-head rule, its layer graph (`Layout`: packing, graph, output layout, stages and their
 * cost) and its decode step (`StepBuilder`: packing and graph). Each built-in variant is one
 * file in `variants/` exporting one of these, and the registry (`registry.ts`) derives the
 * name list, the aliases, the parser, the help texts and the labels from them; so a variant
 * is added by adding its file (and a line in the registry, or `register` from a program).
 */
import { UsageError } from '../core/errors.ts';
import type { Layout } from './layouts.ts';
import type { Mode } from './spec.ts';
import type { StepBuilder } from './step.ts';

export interface Variant {
  /** The canonical name, as written in results and tables: lowercase words joined by '-'. */
  name: string;
  /** Other names the parser takes for it (the seed's class and enum names). */
  aliases: readonly string[];
  /** Whether the name takes a K/V head count (`name:g`). */
  grouped: boolean;
  /** The modes it exists in, and why not in the others (said when refused). */
  modes: readonly Mode[];
  modesWhy?: string;
  /**
   * K/V heads for `heads` query heads of `headDim` (where known) and the group count given
   * (grouped variants); a UsageError naming the variant when the shape cannot be built.
   */
  kvHeads(heads: number, groups: number | undefined, headDim: number | undefined): number;
  /** Its layer graph (`attnbench layers`). */
  layout: Layout;
  /** Its decoder attention step (`attnbench decode`, `generate`). */
  step: StepBuilder;
}

/** The rule of a grouped variant: g K/V heads, g dividing the heads. */
export function groupKvHeads(name: string, heads: number, groups: number | undefined): number {
  const g = groups!;
  if (g > heads || heads % g !== 0) throw new UsageError(`variant '${name}:${g}': ${g} K/V heads do not divide ${heads} heads`);
  return g;
}
