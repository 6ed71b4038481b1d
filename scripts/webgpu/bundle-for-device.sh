#!/usr/bin/env bash
# Pack attnbench for the device machine, which reaches no registry: the CLI, the launcher and
# the WebGPU chooser bundled by esbuild from the compiled dist/ (same file layout, so the
# launcher runs them as it runs dist/), the native parts for linux x64 only (onnxruntime-node
# with its Dawn, the webgpu package for the adapter record, resvg), Node itself, and Debian
# 12's Vulkan loader and glvnd packages (the NVIDIA Vulkan driver needs libGLdispatch beside
# it: docs/webgpu.md §1). Output: .gpu/pkg.tar.xz, .gpu/debs/, .gpu/device-run.sh — .gpu/ is
# ignored through .git/info/exclude, so pass it as `carry` to the device tool (64 MiB limit).
#
#   bash scripts/webgpu/bundle-for-device.sh          # then, with the device tool:
#   run(command: "bash .gpu/device-run.sh", carry: [".gpu"], timeout_s: 480)
set -euo pipefail
cd "$(dirname "$0")/../.."
EXCLUDE="$(git rev-parse --git-common-dir)/info/exclude"
grep -qx '/.gpu/' "$EXCLUDE" 2>/dev/null || echo /.gpu/ >> "$EXCLUDE"
node scripts/build.js
rm -rf .gpu && mkdir -p .gpu/pkg/bin .gpu/pkg/node/bin .gpu/pkg/node_modules .gpu/debs
for e in cli/main browser/chromium device/choice device/probe-child; do
  node_modules/esbuild/bin/esbuild "dist/$e.js" --bundle --platform=node --format=esm --target=node20 \
    --external:onnxruntime-node --external:webgpu --external:@resvg/resvg-js --external:@sparticuz/chromium \
    --outfile=".gpu/pkg/dist/$e.js" --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
done
# a package with no src/: the launcher runs dist/
echo "{\"startedMs\":$(date +%s000)}" > .gpu/pkg/dist/build.json
cp bin/*.js .gpu/pkg/bin/
cp package.json .gpu/pkg/
cp "$(readlink -f "$(command -v node)")" .gpu/pkg/node/bin/node
M=.gpu/pkg/node_modules
mkdir -p $M/onnxruntime-node/bin/napi-v6/linux $M/webgpu/dist $M/@resvg
cp -r node_modules/onnxruntime-node/{package.json,dist} $M/onnxruntime-node/
cp -r node_modules/onnxruntime-node/bin/napi-v6/linux/x64 $M/onnxruntime-node/bin/napi-v6/linux/
cp -r node_modules/onnxruntime-common $M/
cp node_modules/webgpu/{package.json,index.js} $M/webgpu/ && cp -r node_modules/webgpu/dist/linux-x64 $M/webgpu/dist/
cp -r node_modules/@resvg/resvg-js node_modules/@resvg/resvg-js-linux-x64-gnu $M/@resvg/
cp scripts/webgpu/device-run.sh .gpu/
# Debian 12's versions (what the H200 run of phase 1 used); the device machine's own packages are not assumed
(cd .gpu/debs && apt-get download libvulkan1 libglvnd0 libglx0 libegl1 libopengl0 libgl1 libgles2)
tar -C .gpu/pkg -cf - . | xz -3 -T2 > .gpu/pkg.tar.xz
rm -rf .gpu/pkg
du -sh .gpu/* .gpu
