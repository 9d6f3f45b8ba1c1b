/** The interim live page: a table of symbols with their current candles, fed by server-sent events. */
export function livePage(timeframes: readonly string[]): string {
  const tf = JSON.stringify(timeframes);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>tickflow live</title>
<style>
body{font:14px system-ui,sans-serif;margin:1rem;background:#0e1116;color:#d8dee9}
table{border-collapse:collapse;width:100%;max-width:960px}th,td{padding:4px 8px;text-align:right;border-bottom:1px solid #222}
th:first-child,td:first-child{text-align:left}.up{color:#4caf50}.down{color:#ef5350}#status{margin:.5rem 0;color:#888}
</style></head><body>
<h1>tickflow live candles</h1><div id="status">connecting…</div>
<table><thead><tr><th>symbol</th><th>tf</th><th>start (UTC)</th><th>open</th><th>high</th><th>low</th><th>close</th><th>volume</th><th>trades</th><th>vwap</th><th>rev</th></tr></thead><tbody id="rows"></tbody></table>
<script>
const timeframes = ${tf};
const rows = new Map();
const body = document.getElementById('rows');
const status = document.getElementById('status');
function render(c){
  const id = c.symbol + '|' + c.timeframe;
  let tr = rows.get(id);
  if (!tr) { tr = document.createElement('tr'); rows.set(id, tr); [...rows.keys()].sort().forEach(k => body.appendChild(rows.get(k))); }
  const cls = c.close >= c.open ? 'up' : 'down';
  tr.innerHTML = '<td>' + c.symbol + '</td><td>' + c.timeframe + '</td><td>' + new Date(c.start).toISOString().slice(11,19) + '</td><td>' + c.open + '</td><td>' + c.high + '</td><td>' + c.low + '</td><td class="' + cls + '">' + c.close + '</td><td>' + c.volume + '</td><td>' + c.trades + '</td><td>' + c.vwap.toFixed(4) + '</td><td>' + c.rev + (c.final ? ' ✓' : '') + '</td>';
}
fetch('/api/symbols').then(r => r.json()).then(cs => cs.forEach(render));
const es = new EventSource('/events');
es.onopen = () => { status.textContent = 'live'; };
es.onerror = () => { status.textContent = 'reconnecting…'; };
es.addEventListener('candle', (e) => render(JSON.parse(e.data)));
</script></body></html>`;
}
