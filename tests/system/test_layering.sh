#!/bin/bash
# Includes go downward only (STYLE "Where things go"): core <- model <- ctl <- front,
# io knows core only, cli knows core only. A violation fails here, naming the line.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lab/tap.sh"
cd "$HERE/../../controller"

# folder -> project folders it may include from
allowed() {
	case $1 in
	core) echo "core" ;;
	model) echo "core model" ;;
	io) echo "core io" ;;
	ctl) echo "core model io ctl" ;;
	front) echo "core model io ctl front" ;;
	cli) echo "core cli" ;;
	priv) echo "core io priv" ;;
	esac
}

for dir in core model io ctl front cli priv; do
	bad=""
	while IFS= read -r hit; do
		file=${hit%%:*}
		inc=$(sed -n 's/.*#include "\([^"]*\)".*/\1/p' <<<"$hit")
		case $inc in
		*/*) target=${inc%%/*} ;;
		*) # bare name: core headers are on the include path; else same folder
			if [ -f "core/$inc" ]; then target=core; else target=$(dirname "$file"); fi ;;
		esac
		ok=0
		for a in $(allowed "$dir"); do [ "$a" = "$target" ] && ok=1; done
		[ $ok = 1 ] || bad+="$hit"$'\n'
	done < <(grep -Hn '#include "' "$dir"/*.[ch] 2>/dev/null)
	if [ -z "$bad" ]; then
		check_eq "$dir/ includes only from: $(allowed "$dir")" "" ""
	else
		tap_fail "$dir/ includes only from: $(allowed "$dir")" "$bad"
	fi
done
tap_done
