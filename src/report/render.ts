/**
 * Drawing specs without a browser: Vega-Lite → Vega (compile), Vega → SVG (headless view),
 * SVG → PNG (resvg, a Rust rasteriser shipped as a prebuilt binary).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { renderAsync, Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The Vega spec the page's runtime draws (so the page needs vega only, not vega-lite). */
export function toVega(spec: TopLevelSpec): vega.Spec {
  return safeExpressions(compile(spec).spec);
}

/**
 * Vega-Lite writes data values into the Vega expressions it generates (a sort order:
 * `indexof(["multi-head", "constructor"], datum.variant)`), and Vega itself turns a legend's
 * or an axis's list of values into one; and Vega's expression parser misreads two kinds of
 * string literal: one whose text is a name an empty object has (`constructor`, `toString`,
 * `valueOf`…) or `if` becomes an identifier (then "Operator not defined" or "Unrecognized
 * signal name"), and one holding U+2028 or U+2029 is "Unexpected token ILLEGAL". Any variant
 * name is valid, so every expression of the compiled spec is rewritten: the first kind as a
 * concatenation `("constructo"+"r")`, the second with the characters escaped; such a name in
 * a legend's or axis's values becomes that expression. Nothing else changes: names are
 * drawn as they are.
 */
export function safeExpressions<T>(spec: T): T {
  const walk = (v: unknown, key: string): unknown => {
    if (typeof v === 'string') return EXPRESSION_KEYS.has(key) ? safeExpression(v) : v;
    if (Array.isArray(v)) return v.map((x) => walk(x, key));
    if (typeof v !== 'object' || v === null) return v;
    const listed = key === 'legends' || key === 'axes';
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, listed && k === 'values' && Array.isArray(x) ? x.map(safeListValue) : walk(x, k)]),
    );
  };
  return walk(spec, '') as T;
}

/** A legend's or axis's value: Vega writes the list into an expression, where an object's `signal` goes in as code. */
const safeListValue = (x: unknown) => (typeof x === 'string' && misread(x) ? { signal: rewrite(x) } : x);

/** The properties of a Vega spec whose strings are expressions. */
const EXPRESSION_KEYS = new Set(['expr', 'signal', 'update', 'init', 'test']);

/** Would Vega's expression parser misread a string literal with this text? */
const misread = (text: string) => text === 'if' || text in {} || /[\u2028\u2029]/.test(text);

/** `expr` with each string literal Vega would misread rewritten; member access (`datum["x"]`) is left alone. */
export function safeExpression(expr: string): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const q = expr[i]!;
    if (q !== '"' && q !== "'") {
      out += q;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < expr.length && expr[j] !== q) j += expr[j] === '\\' ? 2 : 1;
    const raw = expr.slice(i, j + 1);
    const text = decodeLiteral(raw);
    const member = /[\w$\])]\s*\[\s*$/.test(out);
    out += text !== null && !member && misread(text) ? rewrite(text) : raw;
    i = j + 1;
  }
  return out;
}

/** The text of a quoted JavaScript string literal, or null if it is not one we can read. */
function decodeLiteral(raw: string): string | null {
  const body = raw.slice(1, -1).replace(/\\'/g, "'");
  try {
    return JSON.parse(`"${raw[0] === "'" ? body.replace(/"/g, '\\"') : body}"`) as string;
  } catch {
    return null;
  }
}

function rewrite(text: string): string {
  const lit = (s: string) => JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  // a concatenation: neither half is a name an object has (one of them is one character)
  return text.length > 1 && !/^[\s\S]*[\u2028\u2029][\s\S]*$/.test(text) ? `(${lit(text.slice(0, -1))}+${lit(text.slice(-1))})` : lit(text);
}

export async function toSvg(spec: vega.Spec): Promise<string> {
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Fonts for the PNGs. resvg draws no text at all without a font, so we name DejaVu Sans: first
 * the copy in node_modules (the dejavu-fonts-ttf package, so a machine needs nothing installed
 * by hand), then Debian's fonts-dejavu-core, and scan the system's fonts only if neither is there.
 */
const require = createRequire(import.meta.url);
const FACES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

function npmDejavu(): string[] {
  try {
    return FACES.map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));
  } catch {
    return [];
  }
}

const debianDejavu = () => FACES.map((f) => `/usr/share/fonts/truetype/dejavu/${f}`).filter((f) => fs.existsSync(f));

/** The font options every PNG is drawn with (exported so a test can see where the font comes from). */
export function pngFontOptions(): NonNullable<ResvgRenderOptions['font']> {
  const files = [npmDejavu(), debianDejavu()].find((list) => list.length > 0);
  return files
    ? { loadSystemFonts: false, fontFiles: files, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' }
    : { loadSystemFonts: true };
}

/** Rasterise at `scale` × the SVG's size (2: sharp on high-density screens). */
export function rasterize(svg: string, scale = 2) {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: pngFontOptions() }).render();
}

export const toPng = (svg: string, scale = 2): Buffer => rasterize(svg, scale).asPng();

/**
 * The same PNG drawn on libuv's thread pool: the event loop (and a signal's handler) keeps
 * running while a large chart is rasterised, which takes the longest of all a report does.
 */
export const toPngAsync = async (svg: string, scale = 2): Promise<Buffer> =>
  (await renderAsync(svg, { fitTo: { mode: 'zoom', value: scale }, font: pngFontOptions() })).asPng();
