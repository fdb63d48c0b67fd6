#!/bin/sh
# chromium-ns.sh - Debian's chromium inside the network namespace $APGATE_NS.
# playwright-core launches this as its "executablePath"; every argument
# (--headless, --no-sandbox, --remote-debugging-pipe, ...) comes from
# playwright. "ip netns exec" execs in place, so the PID playwright holds is
# chromium's own and the debugging pipes (fd 3 and 4) are inherited.
set -eu
if [ -z "${APGATE_NS:-}" ]; then
	echo "chromium-ns.sh: APGATE_NS (the network namespace) is not set" >&2
	exit 2
fi
exec ip netns exec "$APGATE_NS" /usr/bin/chromium "$@"
