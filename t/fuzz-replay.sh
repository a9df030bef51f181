#!/usr/bin/env bash
# TAP: replay every fuzz corpus (fuzz/corpus/<target>) through its target
# built with ASan + UBSan (build/fuzz/replay_<target>).  Crashing inputs
# found by `make fuzz` are kept in the corpora as regression seeds.
cd "$(dirname "$0")/.."
targets=(consent token job webhook cache directives hmac activity farm)
echo "1..${#targets[@]}"
i=0
for t in "${targets[@]}"; do
  i=$((i + 1))
  n=$(ls fuzz/corpus/$t | wc -l)
  if out=$(build/fuzz/replay_$t fuzz/corpus/$t 2>&1); then
    echo "ok $i - $t: $n corpus inputs replayed"
  else
    echo "not ok $i - $t: a corpus input failed"
    echo "$out" | tail -n 20 | sed 's/^/# /'
  fi
done
