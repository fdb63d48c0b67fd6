#!/bin/bash
# run.sh DIR SECS TARGET... - runs each libFuzzer target DIR/TARGET for SECS
# seconds over its seed corpus tests/fuzz/corpus/TARGET, with the
# dictionary tests/fuzz/TARGET.dict if there is one (the seeds are read only: the
# inputs it finds go to DIR/../corpus/TARGET, crashes to
# DIR/../crashes/TARGET/) and prints one line per target with its
# executions per second. Exits 1 when a target crashed.
set -u
dir=$1 secs=$2
shift 2
cd "$(dirname "$0")/../.."
out=$(dirname "$dir")
status=0
printf '%-10s %8s %10s %7s  %s\n' target seconds runs exec/s result
for t in "$@"; do
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	log="$out/$t.log"
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	"$dir/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 "${dict[@]}" \
		-artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ "$rc" -eq 0 ]; then
		res=ok
	else
		res="CRASH (exit $rc): see $log and $out/crashes/$t/"
		status=1
	fi
	printf '%-10s %8s %10s %7s  %s\n' "$t" "$secs" "${runs:-?}" "${eps:-?}" "$res"
done
exit $status
