#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The pipeline benchmark (perf/README.md, "Pipeline benchmark"): perc-mdd's
# worker loop on virtual ports fed with fresh double-encrypted traffic,
# beside the bare ipsec-mb floor and the same pipeline on libsrtp2.
#
#   perf/bench_pipeline.sh [--quick] [--build DIR] [--out DIR] [options]
#
# For each configuration: generate the traffic (perc-pcaptest gen for the
# fan-out rows, perc-bench-pipeline-gen for the stream-count rows), then
# run perc-bench-pipeline on it with the ipsec-mb engine and with libsrtp2,
# each paired chunk by chunk with the floor, --reps times, the repetitions
# of all configurations interleaved. bench_pipeline_report.py prints the
# table and the targets and writes JSON and CSV. Targets are a report: the
# exit status says only whether every run worked and every check passed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
out=$root/perf/results
work=
keep=0
quick=0
reps=2
egress=400000
max_frames=200000
libsrtp=1
libsrtp_max_streams=1000
fanouts="1 4 10 50"
payloads="200 1200"
streams="10 100 1000 10000 100000"
stream_payloads="200 1200"

usage() {
	cat <<'EOF'
usage: perf/bench_pipeline.sh [options]

Runs perc-mdd's worker loop (perc-bench-pipeline) on fresh double-encrypted
traffic for fan-out 1, 4, 10, 50 at 200- and 1200-byte payloads and for 10 to
100,000 streams, with the ipsec-mb floor and the libsrtp2 pipeline in the same
run. Table and targets on stdout; JSON and CSV in the output folder.

options:
  --quick             two small configurations, one repetition (smoke test)
  --build DIR         meson build folder (default: build/ beside perf/)
  --out DIR           results folder (default: perf/results)
  --work DIR          where the traffic goes (default: a temporary folder)
  --keep              keep the traffic
  --reps N            perc-bench-pipeline runs per configuration and engine (default 2)
  --egress N          timed egress packets per run, at least (default 400000)
  --max-frames N      cap on the timed frames of one capture (default 200000)
  --fanouts "L"       fan-out rows (default "1 4 10 50")
  --payloads "L"      their payloads (default "200 1200")
  --streams "L"       stream-count rows (default "10 100 1000 10000 100000";
                      multiples of 10: conferences of 5 endpoints x 2 SSRCs)
  --stream-payloads "L"  their payloads (default "200 1200")
  --no-libsrtp        skip the libsrtp2 pipeline
  --libsrtp-max-streams N  run the libsrtp2 pipeline on stream-count rows up to N
                      streams only (default 1000: libsrtp2 here runs on NSS, whose
                      cost per packet grows with the number of keys; at 10,000
                      streams one run takes minutes)
  -h, --help          this text

Exit status: 0 every run measured and checked, 1 a run failed, 2 bad usage.
The targets never change it.
EOF
}

cmdline="perf/bench_pipeline.sh $*"
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) quick=1 ;;
	--build) build=$2; shift ;;
	--out) out=$2; shift ;;
	--work) work=$2; shift ;;
	--keep) keep=1 ;;
	--reps) reps=$2; shift ;;
	--egress) egress=$2; shift ;;
	--max-frames) max_frames=$2; shift ;;
	--fanouts) fanouts=$2; shift ;;
	--payloads) payloads=$2; shift ;;
	--streams) streams=$2; shift ;;
	--stream-payloads) stream_payloads=$2; shift ;;
	--no-libsrtp) libsrtp=0 ;;
	--libsrtp-max-streams) libsrtp_max_streams=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench_pipeline.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$reps" "$egress" "$max_frames" "$libsrtp_max_streams"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench_pipeline.sh: '$n' is not a positive number" >&2; exit 2; }
done
if [[ $quick == 1 ]]; then
	reps=1 egress=20000 max_frames=20000
	fanouts=10 payloads=1200 streams=100 stream_payloads=200
fi

pt=$build/tools/perc-pcaptest
drv=$build/perf/perc-bench-pipeline
sgen=$build/perf/perc-bench-pipeline-gen
for b in "$pt" "$drv" "$sgen"; do
	[[ -x $b ]] || { echo "bench_pipeline.sh: $b not found: build first (ninja -C build)" >&2; exit 1; }
done
mkdir -p "$out"
if [[ -z $work ]]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/bench_pipeline.XXXXXX")
else
	mkdir -p "$work"
fi
# shellcheck disable=SC2317 # called by the trap
cleanup() { [[ $keep == 1 ]] || rm -rf "$work"; }
trap cleanup EXIT
runs=$work/runs
mkdir -p "$runs"
configs=$work/configs.tsv
: >"$configs"

ceil() { echo $(( ($1 + $2 - 1) / $2 )); }

# ---- traffic ----
# fan-out F: one conference of F+1 endpoints (perc-pcaptest gen: odd
# positions send audio and video, so F+1 + (F+1)/2 SSRCs); round 0 is the
# warm-up, then enough rounds for --egress copies, at most --max-frames
gen_fanout() {
	local f=$1 p=$2 id=fanout-$1-$2 s ssrcs per rounds
	s=$((f + 1))
	ssrcs=$((s + s / 2))
	per=$((ssrcs * f))
	rounds=$(ceil "$egress" "$per")
	(( rounds * ssrcs > max_frames )) && rounds=$(( max_frames / ssrcs ))
	(( rounds < 2 )) && rounds=2
	rounds=$((rounds + 1))
	echo "gen  $id: 1 conference x $s endpoints, $ssrcs streams, payload $p, $rounds rounds"
	"$pt" gen --dir "$work/$id" --conferences 1 --size "$s" --payload "$p" \
		--packets "$rounds" --seed 1 >"$work/$id.gen.log" 2>&1 ||
		{ echo "bench_pipeline.sh: gen failed: $(tail -1 "$work/$id.gen.log")" >&2; exit 1; }
	printf '%s\tfanout\t%s\t%s\t%s\t1\t%s\t%s\n' "$id" "$f" "$p" "$ssrcs" "$s" "$rounds" >>"$configs"
}

# N streams: N/10 conferences of 5 endpoints x 2 SSRCs (fan-out 4); at
# least two timed rounds, so that every stream is seen again after the
# warm-up round
gen_streams() {
	local n=$1 p=$2 id=streams-$1-$2 c rounds
	(( n % 10 == 0 )) || { echo "bench_pipeline.sh: --streams takes multiples of 10" >&2; exit 2; }
	c=$((n / 10))
	rounds=$(ceil "$egress" $((n * 4)))
	(( rounds * n > max_frames )) && rounds=$(( max_frames / n ))
	(( rounds < 2 )) && rounds=2
	rounds=$((rounds + 1))
	echo "gen  $id: $c conferences x 5 endpoints x 2 SSRCs, payload $p, $rounds rounds"
	"$sgen" --dir "$work/$id" --conferences "$c" --size 5 --ssrcs 2 --payload "$p" \
		--rounds "$rounds" --seed 1 >"$work/$id.gen.log" 2>&1 ||
		{ echo "bench_pipeline.sh: gen failed: $(tail -1 "$work/$id.gen.log")" >&2; exit 1; }
	printf '%s\tstreams\t4\t%s\t%s\t%s\t5\t%s\n' "$id" "$p" "$n" "$c" "$rounds" >>"$configs"
}

for f in $fanouts; do for p in $payloads; do gen_fanout "$f" "$p"; done; done
for n in $streams; do for p in $stream_payloads; do gen_streams "$n" "$p"; done; done

# ---- runs ----
# perc-bench-pipeline on two lcores (main waits, one worker), no hugepages,
# no PCI; memory for the tables of the largest stream counts
failed=0
run() {
	local id=$1 arch=$2 rep=$3 streams=$4 mem=1024 tag=$1-$2-$3
	(( streams >= 10000 )) && mem=3072
	if ! "$drv" --no-huge --no-pci -m "$mem" -l 0-1 --file-prefix "perc-bp-$$-$tag" \
		--log-level='*:error' -- --provision "$work/$id/provision.json" \
		--pcap "$work/$id/in.pcap" --arch "$arch" --label "$tag" \
		--json "$runs/$tag.json" </dev/null >"$runs/$tag.log" 2>&1; then
		echo "FAIL $tag: $(grep -v '^$' "$runs/$tag.log" | tail -2 | tr '\n' ' ')"
		failed=1
		return
	fi
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); t=d["timed"]
print("run  %-22s %-8s rep %s: %7.0f cyc/egress pipeline, %7.0f floor (%s chunks)" % (
    sys.argv[2], d["arch"], sys.argv[3], t["cycles_per_egress_median"],
    t.get("floor_cycles_per_egress_median", 0), d["chunks"]))' "$runs/$tag.json" "$id" "$rep"
}

for ((rep = 1; rep <= reps; rep++)); do
	while IFS=$'\t' read -r id kind _ _ nstreams _; do
		run "$id" auto "$rep" "$nstreams"
		if [[ $libsrtp == 1 ]] && { [[ $kind == fanout ]] || (( nstreams <= libsrtp_max_streams )); }; then
			run "$id" libsrtp "$rep" "$nstreams"
		fi
	done <"$configs"
done

stem=bench_pipeline
[[ $quick == 1 ]] && stem=bench_pipeline_quick
python3 "$here/bench_pipeline_report.py" --configs "$configs" --runs "$runs" \
	--json "$out/$stem.json" --csv "$out/$stem.csv" --command "$cmdline" \
	--git "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
		git -C "$root" diff --quiet HEAD -- dataplane perf 2>/dev/null || echo '+dirty')" ||
	failed=1
exit $failed
