/**
 * The configurations' variant-list fields (`--variants`, `--attention`). Their help lists
 * the registered variants (`attention/registry.ts`) when it is read, not when this module
 * loads: zod keeps a description from the moment it is given, and a variant a program
 * registers after loading attnbench must still show in `--help`, the page's forms and the
 * JSON schemas.
 */
import { z } from 'zod';
import { variantsHelp } from '../attention/registry.ts';
import type { Mode } from '../attention/spec.ts';

/** A list of variant names described as `${what}, comma-separated: <the variants>${more}`, the list read when the help is. */
export function variantList(what: string, o: { mode?: Mode; aliases?: boolean; more?: string } = {}) {
  const list = z.array(z.string());
  z.globalRegistry.add(list, {
    get description() {
      return `${what}, comma-separated: ${variantsHelp(o)}${o.more ?? ''}`;
    },
  });
  return list;
}
