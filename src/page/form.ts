/**
 * The page's two forms — a layer sweep and a decode-step comparison — built from the same
 * configuration schemas as the command line's flags (src/config/fields.ts): the same names,
 * defaults, help and checks; a form's values become the URL query a run is started from
 * (src/config/query.ts), and a bad value gets the CLI's own one-line message.
 */
import type { z } from 'zod';
import { BROWSER_DEVICES } from '../browser/backends.ts';
import type { RunKind } from '../browser/protocol.ts';
import { DecodeConfig } from '../config/decode.ts';
import { configFields, type ConfigField } from '../config/fields.ts';
import { LayersConfig, MAIN_JOB_GRID } from '../config/layers.ts';
import { decodeModel, decodeSpecs } from '../measure/decode.ts';
import { checkPrecision } from '../precision/support.ts';
import { validateGrid } from '../measure/sweep.ts';
import { configQuery, parseQuery } from '../config/query.ts';

export interface FormSpec {
  kind: RunKind;
  title: string;
  schema: z.ZodObject;
  /** Defaults other than the schema's (the layer form starts from the main job's grid, minutes rather than the seed's hour). */
  defaults: Record<string, unknown>;
  /** Fields the page does not offer: a browser run always verifies, and cannot dump tensors. */
  hidden: readonly string[];
  /** The checks across fields the CLI makes before any work (variants against heads and mode, types against the model). */
  check: (config: never) => void;
}

export const FORMS: Readonly<Record<RunKind, FormSpec>> = {
  layers: {
    kind: 'layers',
    title: 'Layer sweep',
    schema: LayersConfig,
    defaults: { ...MAIN_JOB_GRID, device: 'browser-wasm' },
    hidden: ['dump', 'verify'],
    // the page runs float32 only so far: a quantized dtype is refused here, not ignored
    check: (c: LayersConfig) => {
      validateGrid(c);
      checkPrecision({ device: c.device, weightDtype: c.weightDtype, weights: c.weights });
    },
  },
  decode: {
    kind: 'decode',
    title: 'Decode steps',
    schema: DecodeConfig,
    defaults: { device: 'browser-wasm' },
    hidden: ['verify'],
    check: (c: DecodeConfig) => {
      decodeSpecs(c, decodeModel(c));
      checkPrecision({ device: c.device, weightDtype: c.weightDtype, kvDtype: c.kvDtype, weights: c.weights });
    },
  },
};

const keyOf = (f: ConfigField) => f.flag.slice(2);
const text = (v: unknown) => (v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));

/** The fields a form shows, with the value each starts with (`threads`: as many as the page allows). */
export function formFields(spec: FormSpec, threads: number): { field: ConfigField; key: string; value: string }[] {
  return configFields(spec.schema)
    .filter((f) => !spec.hidden.includes(f.key))
    .map((field) => ({ field, key: keyOf(field), value: text(field.key === 'threads' ? threads : field.key in spec.defaults ? spec.defaults[field.key] : field.defaultValue) }));
}

/** Build a form's inputs into `container`. */
export function renderForm(container: HTMLElement, spec: FormSpec, threads: number, query: URLSearchParams | null): void {
  const grid = document.createElement('div');
  grid.className = 'grid';
  for (const { field, key, value } of formFields(spec, threads)) {
    const label = document.createElement('label');
    label.title = field.description;
    const code = document.createElement('code');
    code.textContent = field.flag;
    const options = field.key === 'device' ? [...BROWSER_DEVICES] : field.json.enum;
    const input = options ? document.createElement('select') : document.createElement('input');
    input.name = key;
    if (input instanceof HTMLSelectElement) for (const o of options!) input.add(new Option(o, o));
    input.value = query?.get(key) ?? value;
    label.append(code, input);
    grid.append(label);
  }
  container.replaceChildren(grid);
}

/**
 * A run's configuration from query parameters, checked with the CLI's parsers and schema
 * (a bad value throws a UsageError naming its flag), and its canonical query: every field
 * spelled out, `verify` on (a browser run always checks), so a run is known by its query.
 */
export function parseRun(spec: FormSpec, params: URLSearchParams): { config: Record<string, unknown>; query: string } {
  const given = new URLSearchParams([...params].filter(([k]) => k !== 'run' && k !== 'probes'));
  const config = { ...parseQuery(spec.schema, given), verify: true };
  spec.check(config as never);
  return { config, query: configQuery(spec.schema, config).toString() };
}

/** A form's values as query parameters (empty fields left out: they take their defaults). */
export function formParams(container: HTMLElement): URLSearchParams {
  const q = new URLSearchParams();
  for (const el of container.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) if (el.value.trim() !== '') q.set(el.name, el.value.trim());
  return q;
}
