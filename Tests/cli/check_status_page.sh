#!/usr/bin/env bash
# The status page in a real headless Chromium after a minute of demo traffic: the history charts
# (requests/s, time to first token, queue depth, cold loads and evictions) and the residency
# timeline have data points, and every node card shows its VRAM bar and its loaded-model cap.
# Usage: Tests/cli/check_status_page.sh [SCREENSHOT.png]   (docs/status-page.png is made this way)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
. Tests/cli/demo_helpers.sh
start_demo 3 300
sleep 65  # a minute of traffic: about a dozen history samples

chrome() { chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --virtual-time-budget=5000 "$@" 2>/dev/null; }
chrome --dump-dom "$url/status" >"$work/dom.html"
python3 - "$work/dom.html" <<'PY'
import re, sys
dom = re.sub(r"<script>.*?</script>", "", open(sys.argv[1]).read(), flags=re.S)  # the page, not its code
charts = re.findall(r'<div class="chart"><h4>(.*?)</h4>(.*?)</svg>', dom, re.S)
titles = [title for title, _ in charts]
for wanted in ["Requests per second", "Time to first token", "Queue depth per model", "Cold loads and evictions"]:
    assert wanted in titles, f"no chart {wanted!r}: {titles}"
for title, svg in charts:
    points = svg.count('class="pt"')
    if title != "Cold loads and evictions":  # bars appear only where something happened
        assert points >= 6, f"{title}: {points} data points"
timeline = dom.split('id="timeline"', 1)[1]
cells = timeline.count('class="pt"')
assert cells >= 6, "the residency timeline is empty"
assert dom.count('class="vram"') == 3, "not every node shows its VRAM bar"
assert len(re.findall(r"slots · up to \d+ models", dom)) == 3, "not every node card shows how many models it keeps loaded"
models = dom.split('id="models"', 1)[1].split("</tbody>", 1)[0]
assert models.count("<tr>") >= 2, f"the models table has {models.count('<tr>')} rows"
print(f"status page: {len(charts)} charts with data, residency timeline with {cells} cells")
PY
if [ $# -ge 1 ]; then
    chrome --window-size=1400,1700 --screenshot="$1" "$url/status" >/dev/null
    echo "screenshot written to $1"
fi
