// RACKHAND_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR": options for the node of Rackhand's server
// under a benchmark (bench/dhcp and bench/tftp), read once here: its profile over the runs.
export const BENCH_NODE_ARGS: string[] = (process.env.RACKHAND_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
