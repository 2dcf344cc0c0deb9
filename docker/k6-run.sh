#!/bin/sh
# The compose k6 service: runs dist/$SCENARIO.js, streamed to $K6_OUT (compose sets the
# InfluxDB output), every sample tagged testid=$TESTID (default compose-<UTC time>) so the
# dashboards can select this run. Arguments are passed on to `k6 run`; settings come from the
# environment (PROFILE, VUS, DURATION, IMAGES, ... and the address variables).
set -eu
script="dist/${SCENARIO:?set SCENARIO to a scenario name, e.g. ws-image}.js"
if [ ! -f "$script" ]; then
  echo "rtbench-k6: no scenario '$SCENARIO'; there are: $(cd dist && ls *.js | sed 's/\.js$//' | tr '\n' ' ')" >&2
  exit 2
fi
testid="${TESTID:-compose-$(date -u +%Y-%m-%dT%H-%M-%SZ)}"
echo "rtbench-k6: $script, testid=$testid, output ${K6_OUT:-none}"
exec k6 run --tag "testid=$testid" "$@" "$script"
