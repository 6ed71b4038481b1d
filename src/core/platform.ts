/**
 * What differs between Node and the browser page, for the modules both run (the graph
 * builder, the layouts, the configurations, the result schemas: src/browser/bundle.ts builds
 * the page from them and refuses any Node import). Node's built-in modules are fetched when a
 * function that needs them is called, through `process.getBuiltinModule` (Node ≥ 20.16),
 * never imported; in the page such a function names what is missing instead.
 */
interface Builtins {
  'node:fs': typeof import('node:fs');
  'node:os': typeof import('node:os');
  'node:path': typeof import('node:path');
}

const nodeProcess = (): NodeJS.Process | undefined => (globalThis as { process?: NodeJS.Process }).process;

/** A Node built-in module, or undefined outside Node. */
export function maybeNodeBuiltin<K extends keyof Builtins>(id: K): Builtins[K] | undefined {
  return nodeProcess()?.getBuiltinModule?.(id) as Builtins[K] | undefined;
}

/** A Node built-in module; outside Node an error naming `what` needs it. */
export function nodeBuiltin<K extends keyof Builtins>(id: K, what: string): Builtins[K] {
  const m = maybeNodeBuiltin(id);
  if (!m) throw new Error(`${what} needs Node (${id}); it is not available in a browser page`);
  return m;
}

/** This machine's logical cores: Node's count, or what the browser tells (navigator.hardwareConcurrency). */
export function logicalCores(): number {
  const os = maybeNodeBuiltin('node:os');
  if (os) return os.cpus().length;
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency || 1;
}
