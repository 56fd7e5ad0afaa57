#!/bin/sh
# A CI job on a fresh runner: build, check and publish an app's arrow without compiling a kernel
# when the team's kernel registry already has it (the first job that lacks it compiles once and,
# with --kernel-push, publishes it for everyone after).
#
#   ARROW_KERNEL_REGISTRY  repository of shared kernels, e.g. registry.example.com/team/arrow-kernels
#   APP_REF                where the arrow goes, e.g. registry.example.com/team/app:$CI_COMMIT_SHA
#   ARROW_REGISTRY_USERNAME / ARROW_REGISTRY_PASSWORD   credentials (or a docker config.json)
#   ARROW_KERNEL_PUSH=1    also publish a kernel this job had to compile (needs push rights)
set -eu
: "${ARROW_KERNEL_REGISTRY:?set ARROW_KERNEL_REGISTRY to your kernel repository}"
: "${APP_REF:?set APP_REF to the reference to push the arrow to}"
ARROW=${ARROW:-arrow}
RECIPE=${RECIPE:-app.recipe}
push_kernel= verify=
[ "${ARROW_KERNEL_PUSH:-0}" = 1 ] && push_kernel=--kernel-push
grep -q '^\[verify\]' "$RECIPE" && verify=--verify   # boot it and run its checks (needs qemu)
# The kernel lookup happens inside the build: "[kernel] pulled kernel <key> from <repo>" on a hit,
# one line and a local compile on a miss or an unreachable registry (never a failed build).
"$ARROW" build "$RECIPE" -o app.arrow $push_kernel $verify
"$ARROW" push app.arrow "$APP_REF"
