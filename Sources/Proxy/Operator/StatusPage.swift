/// The status page: one self-contained HTML document (no external assets, charts drawn as inline
/// SVG) that reads `/status` every two seconds and draws nodes, health, loaded models with the VRAM
/// each takes, in-flight requests, cold loads, queues, recent latencies, and the last hour from
/// `/status`'s history: requests/s, time to first token, queue depth per model, cold loads and
/// evictions, and which model was warm on which node when.
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
        .healthy{background:#1f3d2a;color:var(--ok)}.unhealthy{background:#4a1f1f;color:var(--bad)}.unknown,.suspect{background:#3d3320;color:var(--warn)}
        .url{color:var(--dim);font-size:12px;word-break:break-all}
        .model{display:flex;justify-content:space-between;border-top:1px solid var(--line);padding:4px 0;font-family:ui-monospace,monospace;font-size:13px}
        .loading{color:var(--warn)}.meta{color:var(--dim);font-size:12px;margin-top:6px}
        table{border-collapse:collapse;margin:0 24px 24px;width:calc(100% - 48px);background:var(--card);border:1px solid var(--line)}
        th,td{text-align:left;padding:5px 10px;border-bottom:1px solid var(--line);font-size:13px}th{color:var(--dim);font-weight:600}
        td.num{text-align:right;font-variant-numeric:tabular-nums}.s4,.s5{color:var(--bad)}
        #error{color:var(--bad);padding:0 24px}
        .charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:16px;padding:0 24px}
        .chart{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
        .chart h4{margin:0 0 6px;font-size:13px;color:var(--dim);font-weight:600}
        svg text{fill:var(--dim);font-size:10px}.legend span{display:inline-block;margin-right:10px;font-size:12px}
        .legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:middle}
        .vram{display:flex;height:14px;border-radius:3px;overflow:hidden;background:#0b1016;border:1px solid var(--line);margin:6px 0 2px}
        .vram div{height:100%;border-right:1px solid var(--bg)}
        .timeline{margin:0 24px 24px;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px}
        </style></head><body>
        <header><h1>TensorWall</h1>
        <div class="stat"><b id="healthy">–</b><span>healthy nodes</span></div>
        <div class="stat"><b id="inflight">–</b><span>in flight</span></div>
        <div class="stat"><b id="queued">–</b><span>queued</span></div>
        <div class="stat"><b id="cold">–</b><span>cold loads started</span></div>
        <div class="stat"><b id="strategy">–</b><span>strategy</span></div>
        <div class="stat"><b id="uptime">–</b><span>uptime</span></div></header>
        <p id="error"></p>
        <h2>Last hour</h2><div class="charts" id="charts"><div class="chart">collecting the first samples…</div></div>
        <h2>Nodes</h2><div class="grid" id="nodes"></div>
        <h2>Models</h2>
        <table><thead><tr><th>model</th><th>requests/s</th><th>answer</th><th>queued</th><th>copies wanted</th><th>warm on</th><th>loading on</th><th>planned on</th><th>released on</th></tr></thead><tbody id="models"></tbody></table>
        <h2>Which model was warm where</h2><div class="timeline" id="timeline"></div>
        <h2>Recent requests</h2>
        <table><thead><tr><th>time</th><th>model</th><th>node</th><th>status</th><th>first token</th><th>total</th></tr></thead><tbody id="recent"></tbody></table>
        <h2>Usage by key, model and node</h2>
        <table><thead><tr><th>key</th><th>model</th><th>node</th><th>requests</th><th>errors</th><th>prompt tokens</th><th>completion tokens</th></tr></thead><tbody id="usage"></tbody></table>
        <script>
        const esc=s=>String(s??"").replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
        const ms=v=>v==null?"–":v<1000?v.toFixed(1)+" ms":(v/1000).toFixed(2)+" s";
        const gb=b=>(b/1e9).toFixed(1)+" GB";
        const palette=["#58a6ff","#3fb950","#d29922","#f778ba","#a371f7","#39c5cf","#f85149","#e3b341","#7ee787","#ffa657"];
        const colourOf=(()=>{const m={};let i=0;return k=>m[k]??(m[k]=palette[i++%palette.length])})();
        const clock=t=>new Date(t*1000).toTimeString().slice(0,5);
        // A line chart as inline SVG: every sample is a point (class "pt"), each series a polyline.
        function lineChart(title,times,series,unit,bars){
          const W=420,H=150,L=40,B=18,T=6,R=6,w=W-L-R,h=H-T-B;
          const all=series.flatMap(s=>s.values.filter(v=>v!=null));
          const max=Math.max(1e-9,...all)*1.1||1;
          const n=Math.max(1,times.length-1),x=i=>L+w*i/n,y=v=>T+h-h*v/max;
          let svg=`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}">`;
          for(const f of [0,.5,1]){const v=max*f;svg+=`<line x1="${L}" x2="${W-R}" y1="${y(v)}" y2="${y(v)}" stroke="#2a3642"/><text x="${L-4}" y="${y(v)+3}" text-anchor="end">${v<10?v.toFixed(1):Math.round(v)}${unit}</text>`}
          if(times.length){svg+=`<text x="${L}" y="${H-4}">${clock(times[0])}</text><text x="${W-R}" y="${H-4}" text-anchor="end">${clock(times[times.length-1])}</text>`}
          series.forEach((s,k)=>{
            const c=s.colour||colourOf(s.name);
            if(bars){const bw=Math.max(1,w/(n+1)/series.length);s.values.forEach((v,i)=>{if(v)svg+=`<rect class="pt" x="${x(i)+k*bw-bw/2}" y="${y(v)}" width="${bw}" height="${T+h-y(v)}" fill="${c}"><title>${esc(s.name)} ${v} at ${clock(times[i])}</title></rect>`});return}
            const pts=s.values.map((v,i)=>v==null?null:[x(i),y(v)]).filter(p=>p);
            if(pts.length>1)svg+=`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.map(p=>p.join(",")).join(" ")}"/>`;
            pts.forEach(p=>svg+=`<circle class="pt" cx="${p[0]}" cy="${p[1]}" r="1.6" fill="${c}"/>`);
          });
          svg+="</svg>";
          const legend=series.map(s=>`<span><i style="background:${s.colour||colourOf(s.name)}"></i>${esc(s.name)}</span>`).join("");
          return `<div class="chart"><h4>${esc(title)}</h4>${svg}<div class="legend">${legend}</div></div>`;
        }
        function drawHistory(d){
          const samples=(d.history&&d.history.samples)||[];
          if(samples.length<1)return;
          const times=samples.map(s=>s.at);
          const models=[...new Set(samples.flatMap(s=>Object.keys(s.queued)))].sort();
          document.getElementById("charts").innerHTML=
            lineChart("Requests per second",times,[{name:"requests/s",values:samples.map(s=>s.requestsPerSecond),colour:"#58a6ff"}],"")+
            lineChart("Time to first token",times,[{name:"p50",values:samples.map(s=>s.ttftP50Ms==null?null:s.ttftP50Ms/1000),colour:"#3fb950"},{name:"p95",values:samples.map(s=>s.ttftP95Ms==null?null:s.ttftP95Ms/1000),colour:"#d29922"}],"s")+
            lineChart("Queue depth per model",times,models.length?models.map(m=>({name:m,values:samples.map(s=>s.queued[m]||0)})):[{name:"no queue",values:samples.map(()=>0),colour:"#8a99a8"}],"")+
            lineChart("Cold loads and evictions",times,[{name:"cold loads",values:samples.map(s=>s.coldLoads),colour:"#a371f7"},{name:"evictions",values:samples.map(s=>s.evictions),colour:"#f85149"}],"",true);
          // Residency: a row per node and model, filled where the model was loaded.
          const rows=[];for(const node of d.nodes){const seen=[...new Set(samples.flatMap(s=>(s.loaded[node.name]||[])))].sort();for(const m of seen)rows.push([node.name,m])}
          const W=900,L=230,rh=14,H=rows.length*rh+20,n=samples.length,cw=(W-L-6)/Math.max(1,n);
          let svg=`<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="residency timeline">`;
          rows.forEach(([node,m],r)=>{const y=r*rh;svg+=`<text x="${L-6}" y="${y+10}" text-anchor="end">${esc(node)} · ${esc(m)}</text>`;
            samples.forEach((s,i)=>{if((s.loaded[node]||[]).includes(m))svg+=`<rect class="pt" x="${L+i*cw}" y="${y+2}" width="${cw+0.5}" height="${rh-4}" fill="${colourOf(m)}"/>`})});
          if(n){svg+=`<text x="${L}" y="${H-4}">${clock(times[0])}</text><text x="${W-6}" y="${H-4}" text-anchor="end">${clock(times[n-1])}</text>`}
          document.getElementById("timeline").innerHTML=rows.length?svg+"</svg>":"no model has been loaded yet";
        }
        function vramBar(n){
          if(!n.vramBytes)return "";
          const parts=n.loadedModels.map(m=>`<div style="width:${(100*m.sizeVram/n.vramBytes).toFixed(2)}%;background:${colourOf(m.name)}" title="${esc(m.name)} ${gb(m.sizeVram)}"></div>`).join("");
          return `<div class="vram" title="VRAM">${parts}</div><div class="url">VRAM ${gb(n.vramUsedBytes)} of ${gb(n.vramBytes)}</div>`;
        }
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
              <div class="url">${esc(n.url)} · priority ${n.priority} · weight ${n.weight} · ${n.maxParallel} slots · up to ${n.maxLoadedModels} models${n.maxLoadedModelsFrom==="ollama cap"?" (Ollama's own cap)":""}${n.ollamaVersion?` · Ollama ${esc(n.ollamaVersion)}`:""}</div>
              ${vramBar(n)}
              ${n.loadedModels.map(m=>`<div class="model"><span>${esc(m.name)}</span><span>${gb(m.sizeVram)} · ${m.inFlight} running</span></div>`).join("")}
              ${(n.loadingModels||[]).map(m=>`<div class="model loading"><span>${esc(m.name)}</span><span>loading ${m.elapsedSeconds}s / ~${m.predictedSeconds}s</span></div>`).join("")}
              ${n.loadedModels.length||(n.loadingModels||[]).length?"":`<div class="model"><span class="url">nothing loaded</span></div>`}
              <div class="meta">${n.pulledModels.length} pulled · ${n.inFlightTotal} in flight · ${n.coldLoadsStarted||0} cold loads ·
              probe ${n.lastProbe?(n.lastProbe.ok?ms(n.lastProbe.latencyMs):"failed: "+esc(n.lastProbe.error)):"pending"}</div></div>`).join("");
            drawHistory(d);
            document.getElementById("recent").innerHTML=(d.recent||[]).map(e=>`<tr><td>${esc(e.at.slice(11,23))}</td><td>${esc(e.model)}</td>
              <td>${esc(e.node)}</td><td class="s${String(e.status)[0]}">${e.status}</td><td class="num">${ms(e.ttftMs)}</td><td class="num">${ms(e.durationMs)}</td></tr>`).join("");
            document.getElementById("models").innerHTML=(d.models||[]).map(m=>`<tr><td>${esc(m.name)}${(m.runnerAlsoServes||[]).length?" (also "+m.runnerAlsoServes.map(esc).join(", ")+")":""}</td><td class="num">${m.requestsPerSecond.toFixed(3)}</td>
              <td class="num">${m.serviceSeconds.toFixed(2)} s</td><td class="num">${m.queued}</td><td class="num">${m.copiesWanted}${m.copiesWithoutRoom?` (${m.copiesWithoutRoom} without room)`:""}</td>
              <td>${m.warmOn.map(esc).join(", ")}</td><td>${m.loadingOn.map(esc).join(", ")}</td><td>${(m.plannedOn||[]).map(esc).join(", ")}</td><td>${(m.releasedOn||[]).map(esc).join(", ")}</td></tr>`).join("");
            document.getElementById("usage").innerHTML=(d.usage||[]).map(u=>`<tr><td>${esc(u.key)}</td><td>${esc(u.model)}</td><td>${esc(u.node)}</td>
              <td class="num">${u.requests}</td><td class="num">${u.errors}</td><td class="num">${u.promptTokens}</td><td class="num">${u.completionTokens}</td></tr>`).join("");
          }catch(e){document.getElementById("error").textContent="cannot read /status: "+e.message}
        }
        refresh();setInterval(refresh,2000);
        </script></body></html>
        """#
}
