/**
 * Drawing specs without a browser: Vega-Lite → Vega (compile), Vega → SVG (headless view),
 * SVG → PNG (resvg, a Rust rasteriser shipped as a prebuilt binary).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The Vega spec the page's runtime draws (so the page needs vega only, not vega-lite). */
export function toVega(spec: TopLevelSpec): vega.Spec {
  return compile(spec).spec;
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
