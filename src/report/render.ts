/**
 * Drawing specs without a browser: Vega-Lite → Vega (compile), Vega → SVG (headless view),
 * SVG → PNG (resvg, a Rust rasteriser shipped as a prebuilt binary).
 */
import fs from 'node:fs';
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
 * Fonts for the PNGs. resvg draws no text at all without a font, so we name DejaVu Sans
 * (Debian's fonts-dejavu-core, which .ci/run installs) when it is there, and fall back to
 * scanning the system's fonts otherwise.
 */
const DEJAVU = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];

function fontOptions(): ResvgRenderOptions['font'] {
  const files = DEJAVU.filter((f) => fs.existsSync(f));
  return files.length
    ? { loadSystemFonts: false, fontFiles: files, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' }
    : { loadSystemFonts: true };
}

/** Rasterise at `scale` × the SVG's size (2: sharp on high-density screens). */
export function rasterize(svg: string, scale = 2) {
  return new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, font: fontOptions() }).render();
}

export const toPng = (svg: string, scale = 2): Buffer => rasterize(svg, scale).asPng();
