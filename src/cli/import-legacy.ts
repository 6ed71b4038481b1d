/** `attnbench import-legacy SEED.json --out FILE`: the seed's JSON → a layer result file. */
import { Command } from 'commander';
import { SEED_LAYER } from '../config/layers.ts';
import { readJson } from '../core/files.ts';
import { fromLegacy } from '../results/seed-format.ts';
import { writeLayerFile } from '../results/io.ts';
import { checkResultOutput } from '../results/outputs.ts';
import { parsePositive } from '../config/lists.ts';

export function importLegacyCommand(): Command {
  return new Command('import-legacy')
    .description("convert the seed's profile_attention_types.json into a layer result file (marked as imported)")
    .argument('<file>', "the seed's JSON: {class: [[batch, [[seq, [[key, cpu us, cuda us, all us], ...]]]]]}")
    .requiredOption('--out <file>', 'the layer result file to write')
    .option('--overwrite', 'replace an existing file at --out', false)
    .option('--heads <n>', 'query heads the file was measured with (the seed: 16)', parsePositive('--heads'), SEED_LAYER.heads)
    .option('--head-dim <n>', 'head size the file was measured with (the seed: 64)', parsePositive('--head-dim'), SEED_LAYER.headDim)
    .action((file: string, flags: { out: string; overwrite: boolean; heads: number; headDim: number }) => {
      checkResultOutput('--out', flags.out, flags.overwrite);
      const result = fromLegacy(readJson(file), file, { heads: flags.heads, headDim: flags.headDim });
      writeLayerFile(flags.out, result);
      process.stderr.write(`wrote ${flags.out}: ${result.results.length} configurations imported from ${file}\n`);
    });
}
