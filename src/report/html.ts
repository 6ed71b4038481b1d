/**
 * `index.html`: one self-contained page. The Vega runtime, every chart's compiled spec and
 * its data are inlined, so the page works from a file, offline, forever; the SVG/PNG files
 * beside it are only linked (downloads, and the picture when JavaScript is off).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as vega from 'vega';
import type { Run } from '../results/io.ts';
import { escapeHtml as esc, htmlTable, type Table } from '../table/table.ts';
import type { Chart } from './chart-style.ts';
import { shapeSections } from './sections.ts';
import { precisionNotes } from './precision-note.ts';
import { shapesNote } from './summary.ts';

export interface PageChart extends Chart {
  /** The compiled Vega spec the page draws. */
  vega: vega.Spec;
}

/** JSON that is safe inside a <script> element (no `</script>`, no `<!--`). */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

/** The minified Vega runtime from node_modules (its package exports only the ES module). */
function vegaRuntime(): string {
  const dir = path.dirname(fileURLToPath(import.meta.resolve('vega')));
  const code = fs.readFileSync(path.join(dir, 'vega.min.js'), 'utf8');
  // inlined verbatim, so it must not be able to end the <script> element early
  if (/<\/script|<!--/i.test(code)) throw new Error('vega.min.js contains </script or <!--; it cannot be inlined as is');
  return code;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

function figure(c: PageChart): string {
  // no heading: the chart draws its own title
  return `<figure id="chart-${c.id}">
<div class="chart" data-chart="${c.id}"><noscript><img src="${c.id}.svg" alt="${esc(c.title)}"></noscript></div>
<figcaption>${esc(c.description)} <span class="files"><a href="${c.id}.svg">SVG</a> · <a href="${c.id}.png">PNG</a></span></figcaption>
</figure>`;
}

/** Draws every chart with Vega, hover values in a small box, legend clicks highlight (in the specs). */
const SCRIPT = `
(function () {
  var charts = JSON.parse(document.getElementById('attnbench-charts').textContent);
  var tip = document.getElementById('tooltip');
  function tooltip(handler, event, item, value) {
    if (value == null || value === '') { tip.hidden = true; return; }
    var entries = typeof value === 'object' ? Object.entries(value) : [['', value]];
    tip.replaceChildren.apply(tip, entries.map(function (e) {
      var row = document.createElement('div');
      var k = document.createElement('b');
      k.textContent = e[0] ? e[0] + ': ' : '';
      row.append(k, String(e[1]));
      return row;
    }));
    tip.hidden = false;
    tip.style.left = Math.min(event.pageX + 14, window.scrollX + window.innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = (event.pageY + 14) + 'px';
  }
  window.attnbenchReady = Promise.all(charts.map(function (c) {
    var el = document.querySelector('[data-chart="' + c.id + '"]');
    var view = new vega.View(vega.parse(c.spec), { renderer: 'svg', container: el, hover: true });
    view.tooltip(tooltip);
    return view.runAsync().then(function () { el.dataset.rendered = 'true'; }, function (e) {
      el.textContent = 'This chart could not be drawn: ' + e.message;
      throw e;
    });
  }));
})();
`;

const STYLE = `
:root { color-scheme: light; --muted: #555; --line: #ddd; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0 auto; padding: 1.5rem; max-width: 1280px; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid var(--line); }
.sub, figcaption, .note { color: var(--muted); }
nav ul { columns: 2; padding-left: 1.2rem; }
figure { margin: 1.5rem 0; padding: 1rem; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
figcaption { max-width: 80ch; margin-top: 0.5rem; }
.files { white-space: nowrap; margin-left: 0.5rem; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 0.5rem 0 1.5rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #f7f7f7; }
#tooltip { position: absolute; z-index: 10; background: #fff; border: 1px solid #999; border-radius: 4px; padding: 0.3rem 0.5rem; font-size: 12px; box-shadow: 0 2px 6px rgba(0,0,0,0.15); pointer-events: none; }
`;

/** The figures, under a heading per section where the charts belong to sections (one per layer shape). */
function chartSections(charts: readonly PageChart[]): string {
  let current: string | undefined;
  return charts
    .map((c) => {
      const heading = c.section !== undefined && c.section !== current ? `<h3 id="section-${slug(c.section)}">${esc(c.section)}</h3>\n` : '';
      current = c.section;
      return heading + figure(c);
    })
    .join('\n');
}

export function reportHtml(runs: readonly Run[], tables: readonly Table[], charts: readonly PageChart[], generated: string): string {
  const note = shapesNote(shapeSections(runs));
  const [envTable, ...resultTables] = tables;
  const toc = [
    ['environment', 'Environment'],
    ['charts', 'Charts'],
    ...charts.map((c) => [`chart-${c.id}`, `— ${c.title}`]),
    ...resultTables.map((t) => [slug(t.title), t.title]),
  ];
  const specs = charts.map((c) => ({ id: c.id, spec: c.vega }));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>attnbench report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>attnbench report</h1>
<p class="sub">Generated ${esc(generated)} from ${runs.map((r) => `<code>${esc(r.file)}</code>`).join(', ')}.
Hover a mark for its values; click a legend entry to highlight that series (shift-click for several, click empty space to reset).</p>
</header>
<nav><ul>${toc.map(([id, t]) => `<li><a href="#${id}">${esc(t!)}</a></li>`).join('')}</ul></nav>
<section id="environment"><h2>Environment</h2><p class="note">${esc(envTable?.note ?? '')}</p>${envTable ? htmlTable(envTable) : ''}</section>
<section id="charts"><h2>Charts</h2>
${note ? `<p class="note">${esc(note)}</p>` : ''}${precisionNotes(runs).map((n) => `<p class="note">${esc(n)}</p>`).join('')}
${chartSections(charts)}
</section>
<section id="tables"><h2>Tables</h2>
${resultTables.map((t) => `<h3 id="${slug(t.title)}">${esc(t.title)}</h3>${t.note ? `<p class="note">${esc(t.note)}</p>` : ''}${htmlTable(t)}`).join('\n')}
</section>
<div id="tooltip" hidden></div>
<script>${vegaRuntime()}</script>
<script type="application/json" id="attnbench-charts">${scriptJson(specs)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
