#!/usr/bin/env bash
# The runs of docs/shrink.md: every recipe of recipes/shrink/ for one teacher (stories260k or
# tinystories656k, $1) over seeds 1, 2, 3, into runs/shrink/<recipe>-s<seed>. Then
# `node bench/shrink-table.mjs` turns their metrics into the tables of docs/shrink.md.
# One thread each: the two teachers run side by side on a 2-core machine.
# DIST=<folder> runs a frozen copy of dist/ (so a rebuild mid-way cannot change later runs).
# Usage: bash bench/shrink.sh stories260k & bash bench/shrink.sh tinystories656k
set -euo pipefail
teacher=${1:?usage: bench/shrink.sh stories260k|tinystories656k}
for f in recipes/shrink/"$teacher"-*.yaml; do
  node "${DIST:-dist}"/src/cli/main.js run "$f" --seeds 1,2,3 outDir=runs/shrink threads=1 --overwrite
done
