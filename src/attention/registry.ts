/**
 * The attention variants by name: the one list from which the names, the aliases, the
 * parser (`spec.ts`), the help texts of the configurations and the order of tables and charts
 * are derived. A built-in variant is a file in `variants/` and one line below; a program adds
 * its own with `register`, and it then runs, parses and shows in `--help` like the others.
 */
import type { Layout } from './layouts.ts';
import type { Mode } from './spec.ts';
import type { StepBuilder } from './step.ts';
import type { Variant } from './variant.ts';
import { fusedGqa } from './variants/fused-gqa.ts';
import { groupedQuery } from './variants/grouped-query.ts';
import { multiHead } from './variants/multi-head.ts';
import { multiQuery1 } from './variants/multi-query-1.ts';
import { multiQuerySeparate } from './variants/multi-query-separate.ts';
import { multiQuery } from './variants/multi-query.ts';

const byName = new Map<string, Variant>();
const names: string[] = [];
const aliasOf: Record<string, string> = {};
const layouts: Record<string, Layout> = {};

/** The canonical names, in registration order (multi-head first: the baseline). Live: a registered variant is added. */
export const VARIANT_KINDS: readonly string[] = names;

/** Other names the parser takes (the seed's class and enum names) → canonical name. Live, as VARIANT_KINDS. */
export const ALIASES: Readonly<Record<string, string>> = aliasOf;

/** Each variant's layer graph by name. Live, as VARIANT_KINDS. */
export const LAYOUTS: Readonly<Record<string, Layout>> = layouts;

/** Add a variant: its name and aliases must be new, its name lowercase words joined by '-'. */
export function register(v: Variant): Variant {
  if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(v.name)) throw new Error(`variant name '${v.name}' is not lowercase words joined by '-'`);
  for (const name of [v.name, ...v.aliases]) {
    if (byName.has(name) || Object.hasOwn(aliasOf, name)) throw new Error(`variant name '${name}' is taken`);
  }
  byName.set(v.name, v);
  names.push(v.name);
  for (const a of v.aliases) aliasOf[a] = v.name;
  layouts[v.name] = v.layout;
  return v;
}

// the built-in variants, in the order tables and charts list them
for (const v of [multiHead, multiQuery, multiQuery1, groupedQuery, multiQuerySeparate, fusedGqa]) register(v);

/** The variant a canonical name or an alias names, if any. */
export const findVariant = (name: string): Variant | undefined => byName.get(Object.hasOwn(aliasOf, name) ? aliasOf[name]! : name);

/** The variant of a parsed spec's kind (always registered: parsing checked it). */
export function variantOf(kind: string): Variant {
  const v = byName.get(kind);
  if (!v) throw new Error(`no variant '${kind}' is registered`);
  return v;
}

export const layoutOf = (spec: { kind: string }): Layout => variantOf(spec.kind).layout;
export const stepOf = (spec: { kind: string }): StepBuilder => variantOf(spec.kind).step;

/**
 * The variants as a flag's help lists them: `grouped-query:g` for those that take a K/V head
 * count; with `mode`, only those that exist in it, else each that exists in one mode only
 * says which. `aliases` adds "or the seed's aliases".
 */
export function variantsHelp(o: { mode?: Mode; aliases?: boolean } = {}): string {
  const listed = [...byName.values()].filter((v) => !o.mode || v.modes.includes(o.mode));
  const items = listed.map((v) => {
    const only = !o.mode && v.modes.length === 1 ? ` (--mode ${v.modes[0]} only)` : '';
    return `${v.name}${v.grouped ? ':g' : ''}${only}`;
  });
  return items.join(', ') + (o.aliases ? ", or the seed's aliases" : '');
}
