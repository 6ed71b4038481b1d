#!/usr/bin/env bash
# On the device machine (a real GPU), from the repository root with .gpu/ carried over:
# unpack the bundle, give the NVIDIA Vulkan driver a loader and glvnd (Debian 12's packages
# unpacked into .gpu/sysroot, nothing installed system-wide), then run the integrated commands
# with --device webgpu at the seed's shapes. Everything lands in $OUT: log.txt, the result
# files, and a layers journal (the finished configurations) if the sweep runs out of time.
#
# Sized for a session with ~10 minutes of device time, machine start included: each command
# has its own time limit (LAYERS_TIMEOUT, GENERATE_TIMEOUT, seconds); their flags can be
# replaced through LAYERS_ARGS and GENERATE_ARGS.
set -uo pipefail
G="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$G/out}"
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
cd "$G"
rm -rf pkg sysroot && mkdir -p pkg sysroot
xz -dc pkg.tar.xz | tar -C pkg -xf -
for f in debs/*.deb; do dpkg-deb -x "$f" sysroot; done
export PATH="$G/pkg/node/bin:$PATH"
export LD_LIBRARY_PATH="$G/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ICD=$(ls /usr/local/nvidia/share/vulkan/icd.d/*.json /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | grep -i nvidia | head -1)
[ -n "$ICD" ] && export VK_DRIVER_FILES="$ICD"

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "ICD: ${ICD:-none found (the launcher will say what is missing)}"; [ -n "$ICD" ] && cat "$ICD"
node --version; nproc; date -u +%FT%TZ
A="$G/pkg/bin/attnbench.js"
cd "$OUT"

echo; echo "== layers --device webgpu (the seed's grid)"
T0=$(date +%s)
# shellcheck disable=SC2086
timeout "${LAYERS_TIMEOUT:-180}" node "$A" layers --device webgpu --no-progress --out layers-webgpu.json \
  ${LAYERS_ARGS:---repeats 10 --warmup 2 --profile-runs 5}
echo "layers: exit $? after $(( $(date +%s) - T0 )) s"

echo; echo "== generate --device webgpu --preset seed"
T0=$(date +%s)
# shellcheck disable=SC2086
timeout "${GENERATE_TIMEOUT:-180}" node "$A" generate --device webgpu --preset seed --no-progress --out generate-webgpu.json \
  ${GENERATE_ARGS:---repeats 1}
echo "generate: exit $? after $(( $(date +%s) - T0 )) s"
ls -la "$OUT"
