/**
 * The PNG charts' font comes from node_modules (the dejavu-fonts-ttf package), so a machine
 * needs no font installed by hand: resvg is told to load no system font at all, and still
 * draws the text.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Resvg } from '@resvg/resvg-js';
import { pngFontOptions, rasterize } from '../src/report/render.ts';
import { ROOT } from './helpers.ts';

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="#fff"/><text x="5" y="28" font-family="sans-serif" font-size="20">attnbench 1.5×</text></svg>';

/** Pixels that are not white. */
function inked(pixels: Buffer): number {
  let n = 0;
  for (let i = 0; i < pixels.length; i += 4) if (pixels[i]! < 250 || pixels[i + 1]! < 250 || pixels[i + 2]! < 250) n++;
  return n;
}

test('the PNG font is DejaVu Sans from node_modules, and no system font is loaded', () => {
  const font = pngFontOptions();
  const npmFonts = path.join(ROOT, 'node_modules', 'dejavu-fonts-ttf', 'ttf');
  assert.equal(font.loadSystemFonts, false, 'system fonts are not scanned');
  assert.deepEqual(font.fontFiles, [path.join(npmFonts, 'DejaVuSans.ttf'), path.join(npmFonts, 'DejaVuSans-Bold.ttf')]);
  assert.equal(font.defaultFontFamily, 'DejaVu Sans');
});

test('text is drawn with only that font, and would not be without it', () => {
  const drawn = inked(rasterize(SVG, 1).pixels);
  const noFont = inked(new Resvg(SVG, { font: { loadSystemFonts: false, fontFiles: [] } }).render().pixels);
  assert.equal(noFont, 0, 'with no font resvg draws no text (so the count below means something)');
  assert.ok(drawn > 300, `the text covers ${drawn} pixels`);
});
