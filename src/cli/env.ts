/**
 * The environment variables the command line reads (besides the launcher's
 * ATTNBENCH_MALLOC and ATTNBENCH_SOURCE):
 *  - ATTNBENCH_PROBES=quick: tiny ceiling probes (a 256³ product, 4 MiB) for tests and smoke
 *    runs. The figures then bound nothing; the result's `ceilings.method` says so.
 */
export const quickProbes = (): boolean => process.env.ATTNBENCH_PROBES === 'quick';
