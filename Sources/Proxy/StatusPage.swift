/// The status page: one self-contained HTML document (no external assets) that reads `/status`
/// every two seconds and draws nodes, health, loaded models, in-flight requests, cold loads,
/// queues and recent latencies.
enum StatusPage {
    static let html = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
        <title>TensorWall</title>
        <style>
        :root{--bg:#0f1419;--card:#182029;--line:#2a3642;--text:#dce3ea;--dim:#8a99a8;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--accent:#58a6ff}
        *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;background:var(--bg);color:var(--text)}
        header{display:flex;align-items:baseline;gap:24px;padding:16px 24px;border-bottom:1px solid var(--line)}
        h1{font-size:20px;margin:0}h2{font-size:15px;margin:24px 24px 8px;color:var(--dim);font-weight:600;text-transform:uppercase;letter-spacing:.05em}
        .stat b{font-size:18px;display:block}.stat span{color:var(--dim);font-size:12px}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:16px;padding:0 24px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px}
        .card h3{margin:0 0 4px;font-size:16px;display:flex;justify-content:space-between}
        .badge{font-size:12px;padding:1px 8px;border-radius:10px;font-weight:600}
        .healthy{background:#1f3d2a;color:var(--ok)}.unhealthy{background:#4a1f1f;color:var(--bad)}.unknown{background:#3d3320;color:var(--warn)}
        .url{color:var(--dim);font-size:12px;word-break:break-all}
        .model{display:flex;justify-content:space-between;border-top:1px solid var(--line);padding:4px 0;font-family:ui-monospace,monospace;font-size:13px}
        .loading{color:var(--warn)}.meta{color:var(--dim);font-size:12px;margin-top:6px}
        table{border-collapse:collapse;margin:0 24px 24px;width:calc(100% - 48px);background:var(--card);border:1px solid var(--line)}
        th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);font-size:13px}th{color:var(--dim);font-weight:600}
        td.num{text-align:right;font-variant-numeric:tabular-nums}.s4,.s5{color:var(--bad)}
        #error{color:var(--bad);padding:0 24px}
        </style></head><body>
        <header><h1>TensorWall</h1>
        <div class="stat"><b id="healthy">–</b><span>healthy nodes</span></div>
        <div class="stat"><b id="inflight">–</b><span>in flight</span></div>
        <div class="stat"><b id="queued">–</b><span>queued</span></div>
        <div class="stat"><b id="cold">–</b><span>cold loads started</span></div>
        <div class="stat"><b id="strategy">–</b><span>strategy</span></div>
        <div class="stat"><b id="uptime">–</b><span>uptime</span></div></header>
        <p id="error"></p>
        <h2>Nodes</h2><div class="grid" id="nodes"></div>
        <h2>Recent requests</h2>
        <table><thead><tr><th>time</th><th>model</th><th>node</th><th>status</th><th>first token</th><th>total</th></tr></thead><tbody id="recent"></tbody></table>
        <h2>Usage by key, model and node</h2>
        <table><thead><tr><th>key</th><th>model</th><th>node</th><th>requests</th><th>errors</th><th>prompt tokens</th><th>completion tokens</th></tr></thead><tbody id="usage"></tbody></table>
        <script>
        const esc=s=>String(s??"").replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
        const ms=v=>v==null?"–":v<1000?v.toFixed(1)+" ms":(v/1000).toFixed(2)+" s";
        const gb=b=>(b/1e9).toFixed(1)+" GB";
        function dur(s){const h=Math.floor(s/3600),m=Math.floor(s%3600/60);return h?h+"h "+m+"m":m?m+"m "+(s%60)+"s":s+"s"}
        async function refresh(){
          try{
            const r=await fetch("status",{headers:{Accept:"application/json"}});
            if(!r.ok)throw new Error("status "+r.status);
            const d=await r.json();
            document.getElementById("error").textContent="";
            document.getElementById("healthy").textContent=d.healthyNodes+" / "+d.nodes.length;
            document.getElementById("inflight").textContent=d.nodes.reduce((a,n)=>a+n.inFlightTotal,0);
            document.getElementById("queued").textContent=Object.values(d.queued||{}).reduce((a,b)=>a+b,0);
            document.getElementById("cold").textContent=d.nodes.reduce((a,n)=>a+(n.coldLoadsStarted||0),0);
            document.getElementById("strategy").textContent=d.strategy;
            document.getElementById("uptime").textContent=dur(d.uptimeSeconds);
            document.getElementById("nodes").innerHTML=d.nodes.map(n=>`<div class="card">
              <h3>${esc(n.name)}<span>${n.ejectedForSeconds!=null?`<span class="badge unhealthy">ejected ${n.ejectedForSeconds}s</span> `:""}${n.coolingDown?`<span class="badge unknown">busy</span> `:""}<span class="badge ${esc(n.health)}">${esc(n.health)}</span></span></h3>
              <div class="url">${esc(n.url)} · priority ${n.priority} · weight ${n.weight} · ${n.maxParallel} slots</div>
              ${n.loadedModels.map(m=>`<div class="model"><span>${esc(m.name)}</span><span>${gb(m.sizeVram)} · ${m.inFlight} running</span></div>`).join("")}
              ${(n.loadingModels||[]).map(m=>`<div class="model loading"><span>${esc(m.name)}</span><span>loading ${m.elapsedSeconds}s / ~${m.predictedSeconds}s</span></div>`).join("")}
              ${n.loadedModels.length||(n.loadingModels||[]).length?"":`<div class="model"><span class="url">nothing loaded</span></div>`}
              <div class="meta">${n.pulledModels.length} pulled · ${n.inFlightTotal} in flight · ${n.coldLoadsStarted||0} cold loads ·
              probe ${n.lastProbe?(n.lastProbe.ok?ms(n.lastProbe.latencyMs):"failed: "+esc(n.lastProbe.error)):"pending"}</div></div>`).join("");
            document.getElementById("recent").innerHTML=(d.recent||[]).map(e=>`<tr><td>${esc(e.at.slice(11,23))}</td><td>${esc(e.model)}</td>
              <td>${esc(e.node)}</td><td class="s${String(e.status)[0]}">${e.status}</td><td class="num">${ms(e.ttftMs)}</td><td class="num">${ms(e.durationMs)}</td></tr>`).join("");
            document.getElementById("usage").innerHTML=(d.usage||[]).map(u=>`<tr><td>${esc(u.key)}</td><td>${esc(u.model)}</td><td>${esc(u.node)}</td>
              <td class="num">${u.requests}</td><td class="num">${u.errors}</td><td class="num">${u.promptTokens}</td><td class="num">${u.completionTokens}</td></tr>`).join("");
          }catch(e){document.getElementById("error").textContent="cannot read /status: "+e.message}
        }
        refresh();setInterval(refresh,2000);
        </script></body></html>
        """#
}
