#!/bin/sh
# Regenerates the synthesized samples (samples/*.pcapng and samples/*.truth.json) from their
# scenarios. Output is byte-identical for the same scenario and seed; the test
# TestSamplesRegenerate (run without -update) proves the committed files are current.
#
# The files are written through replay.NewPcapngSink, the same writer as
#   stackflow replay --scenario samples/NAME.yaml -o samples/NAME.pcapng --truth samples/NAME.truth.json
# (one pcapng interface per capture point, nanosecond timestamps).
set -eu
cd "$(dirname "$0")/.."
CGO_ENABLED=0 go test ./replay/synth -run '^TestSamplesRegenerate$' -count=1 -update
CGO_ENABLED=0 go test ./replay/synth -run '^TestSamplesRegenerate$' -count=1
