// trioredis live streams dashboard: subscribe over /ws, show entries and a per-stream rate.
// Self-contained (no libraries, nothing fetched from elsewhere). Protocol: docs/gateway.md.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#c62d42", "#2b6cb0", "#1f9d55", "#d98b0b", "#805ad5", "#0f8b8d", "#d53f8c",
                  "#4a5568"];
  const MAX_ROWS = 300;  // table rows kept
  const WINDOW = 60;  // seconds shown in the chart

  const streams = new Map();  // name -> {last, total, color, buckets: Map(second -> count)}
  let ws = null;
  let wanted = [];  // stream names the user asked for
  let from = "$";
  let token = "";
  let backoff = 500;
  let total = 0;
  let pending = [];  // entries not yet in the table
  let renderTimer = 0;

  function info(name) {
    let s = streams.get(name);
    if (!s) {
      s = { last: null, total: 0, color: COLORS[streams.size % COLORS.length], buckets: new Map() };
      streams.set(name, s);
    }
    return s;
  }

  function setStatus(text, cls) {
    const el = $("status");
    el.textContent = text;
    el.className = "status " + cls;
  }

  function note(text) {
    $("message").textContent = text;
  }

  // -- connection ------------------------------------------------------------------------------

  function connect() {
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const sock = new WebSocket(proto + location.host + "/ws");
    ws = sock;
    setStatus("connecting…", "off");
    sock.onmessage = (ev) => onMessage(JSON.parse(ev.data));
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      const why = "closed (" + ev.code + (ev.reason ? ": " + ev.reason : "") + ")";
      if (ev.code === 1008 && /token|auth/.test(ev.reason)) {  // retrying would not help
        setStatus(why, "error");
        note(why + " — check the token, then Subscribe again");
        return;
      }
      setStatus(why + ", reconnecting…", "off");
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    };
  }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  // Resume where we were: each stream from the last ID received (or resolved for "$").
  function subscribe(names) {
    if (!names.length) return;
    const req = {};
    for (const name of names) {
      const s = streams.get(name);
      req[name] = (s && s.last) || from;
    }
    send({ op: "subscribe", streams: req, count: 500 });
  }

  function onMessage(msg) {
    if (msg.op === undefined) {
      entry(msg);
      return;
    }
    switch (msg.op) {
      case "welcome":
        backoff = 500;
        if (msg.auth !== "required") live();
        else if (token) send({ op: "auth", token: token });
        else {
          const sock = ws;
          ws = null;  // not reconnecting: nothing works without the token
          sock.close(1000, "no token");
          setStatus("token required", "error");
          note("This server requires a token: enter it, then press Subscribe.");
        }
        break;
      case "auth":
        live();
        break;
      case "subscribed":
        for (const [name, id] of Object.entries(msg.streams)) info(name).last = id;
        renderLegend();
        break;
      case "info":
        serverView(msg);
        break;
      case "error":
        note(msg.code + (msg.stream ? " (" + msg.stream + ")" : "") + ": " + msg.error);
        break;
    }
  }

  function live() {
    setStatus("live", "on");
    note("");
    subscribe(wanted);
    send({ op: "info", interval: 1000 });  // the server view (read-only INFO snapshots)
  }

  // -- entries ---------------------------------------------------------------------------------

  function entry(msg) {
    const s = info(msg.stream);
    s.last = msg.id;
    s.total += 1;
    total += 1;
    const sec = Math.floor(Date.now() / 1000);
    s.buckets.set(sec, (s.buckets.get(sec) || 0) + 1);
    msg.at = Date.now();
    pending.push(msg);
    if (pending.length > MAX_ROWS) pending.splice(0, pending.length - MAX_ROWS);
    if (!renderTimer) renderTimer = setTimeout(renderRows, 50);
  }

  function clock(ms) {
    const d = new Date(ms);
    const p = (n, w) => String(n).padStart(w, "0");
    return p(d.getHours(), 2) + ":" + p(d.getMinutes(), 2) + ":" + p(d.getSeconds(), 2) + "." +
      p(d.getMilliseconds(), 3);
  }

  function cell(cls, content) {
    const td = document.createElement("td");
    td.className = cls;
    if (typeof content === "string") td.textContent = content;
    else td.appendChild(content);
    return td;
  }

  function fieldsNode(msg) {
    const frag = document.createDocumentFragment();
    if (msg.fields === null) {
      frag.appendChild(document.createTextNode("(deleted)"));
      return frag;
    }
    const b64 = new Set(msg.b64 || []);
    for (const [k, v] of Object.entries(msg.fields)) {
      const c = document.createElement("code");
      const text = k + "=" + v;
      c.textContent = text.length > 200 ? text.slice(0, 200) + "…" : text;
      if (b64.has(k)) {
        c.className = "b64";
        c.title = "binary value, shown as base64";
      }
      frag.appendChild(c);
    }
    return frag;
  }

  function renderRows() {
    renderTimer = 0;
    const body = $("entries").tBodies[0];
    const frag = document.createDocumentFragment();
    for (let i = pending.length - 1; i >= 0; i--) {  // newest first
      const msg = pending[i];
      const tr = document.createElement("tr");
      tr.className = "fresh";
      tr.dataset.stream = msg.stream;
      tr.dataset.id = msg.id;
      const tag = document.createElement("span");
      tag.textContent = msg.stream;
      tag.style.background = info(msg.stream).color;
      tr.append(cell("time", clock(msg.at)), cell("stream", tag), cell("id", msg.id),
                cell("fields", fieldsNode(msg)));
      frag.appendChild(tr);
    }
    pending = [];
    body.insertBefore(frag, body.firstChild);
    while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
    $("total").textContent = total + " received";
  }

  // -- rate chart ------------------------------------------------------------------------------

  function rate(s, sec) {
    return s.buckets.get(sec) || 0;
  }

  // Grid step (1, 2 or 5 times a power of ten) and line count for a peak rate.
  function scale(peak) {
    if (peak <= 5) return { step: 1, lines: 5 };
    const raw = peak / 4;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
    return { step: step, lines: Math.ceil(peak / step) };
  }

  function renderLegend() {
    const ul = $("legend");
    ul.textContent = "";
    const last = Math.floor(Date.now() / 1000) - 1;
    for (const [name, s] of streams) {
      const li = document.createElement("li");
      const sw = document.createElement("i");
      sw.style.background = s.color;
      const b = document.createElement("b");
      b.textContent = rate(s, last) + "/s";
      li.append(sw, document.createTextNode(name + " "), b);
      li.title = s.total + " entries received, last ID " + (s.last || "-");
      ul.appendChild(li);
    }
  }

  function drawChart() {
    const canvas = $("chart");
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const left = 44, right = 10, top = 10, bottom = 22;
    const pw = w - left - right, ph = h - top - bottom;
    const now = Math.floor(Date.now() / 1000);
    const first = now - WINDOW;  // complete seconds only: first .. now-1
    let peak = 0;
    for (const s of streams.values()) {
      for (let t = first; t < now; t++) peak = Math.max(peak, rate(s, t));
      for (const k of s.buckets.keys()) if (k < first - 2) s.buckets.delete(k);
    }
    const { step, lines } = scale(peak);
    const ymax = step * lines;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#6b7385";
    ctx.strokeStyle = "#e2e5eb";
    ctx.lineWidth = 1;
    for (let i = 0; i <= lines; i++) {
      const y = top + ph - (ph * i) / lines;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + pw, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      ctx.fillText(String(step * i), left - 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (let ago = WINDOW; ago >= 0; ago -= 10) {
      const x = left + pw * (1 - ago / WINDOW);
      ctx.fillText(ago ? "-" + ago + "s" : "now", x, top + ph + 6);
    }
    ctx.lineWidth = 2;
    ctx.lineJoin = "round";
    for (const s of streams.values()) {
      ctx.strokeStyle = s.color;
      ctx.beginPath();
      for (let t = first; t < now; t++) {
        const x = left + (pw * (t - first + 1)) / WINDOW;
        const y = top + ph - (ph * rate(s, t)) / ymax;
        if (t === first) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
    }
  }

  function tick() {
    drawChart();
    renderLegend();
  }

  // -- server view -----------------------------------------------------------------------------

  const opsHistory = [];  // [time ms, ops/s], the last WINDOW seconds

  function human(bytes) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let v = bytes;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i += 1;
    }
    return (i ? v.toFixed(v < 10 ? 2 : 1) : String(v)) + " " + units[i];
  }

  function duration(s) {
    if (s < 120) return s + " s";
    if (s < 7200) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " days";
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function node(title, role, detail, down) {
    const d = el("div", "node");
    d.appendChild(el("b", "", title));
    d.appendChild(el("span", "role " + (down ? "down" : role), role));
    d.appendChild(el("small", "", detail));
    return d;
  }

  function serverView(m) {
    $("srv-ops").textContent = m.ops_per_sec.toLocaleString();
    $("srv-clients").textContent = m.connected_clients;
    $("srv-blocked").textContent = m.blocked_clients + " blocked";
    $("srv-mem").textContent = human(m.used_memory);
    const meter = $("srv-mem-meter");
    if (m.maxmemory > 0) {
      meter.value = Math.min(m.used_memory / m.maxmemory, 1);
      $("srv-mem-max").textContent = "of " + human(m.maxmemory) + " maxmemory (" +
        (100 * m.used_memory / m.maxmemory).toFixed(1) + "%, " + m.maxmemory_policy + ")";
    } else {
      meter.value = 0;
      $("srv-mem-max").textContent = "no maxmemory limit";
    }
    $("srv-hits").textContent = m.hit_ratio === null ? "–" : (100 * m.hit_ratio).toFixed(1) + "%";
    $("srv-hits-n").textContent = m.keyspace_hits + " hits, " + m.keyspace_misses + " misses";
    $("srv-keys").textContent = m.keys.toLocaleString();
    $("srv-uptime").textContent = "up " + duration(m.uptime_s) + ", " + m.version;

    const body = $("srv-commands").tBodies[0];
    body.textContent = "";
    const top = m.commands.length ? m.commands[0].calls : 1;
    for (const c of m.commands) {
      const tr = document.createElement("tr");
      tr.dataset.cmd = c.name;
      tr.appendChild(el("td", "", c.name));
      tr.appendChild(el("td", "num", c.calls.toLocaleString()));
      tr.appendChild(el("td", "num", c.usec_per_call.toFixed(1)));
      const bar = el("td", "bar");
      const i = el("i");
      i.style.width = Math.max(1, 100 * c.calls / top) + "%";  // CSSOM: allowed by the CSP
      bar.appendChild(i);
      tr.appendChild(bar);
      body.appendChild(tr);
    }

    const topo = $("srv-topology");
    topo.textContent = "";
    const r = m.replication;
    if (m.ha) {
      topo.appendChild(el("p", "", "HA group: term " + m.ha.term + ", " + m.ha.members.length +
        " members, leader " + (m.ha.leader || "none") + " (" + m.ha.state + ")"));
      for (const mb of m.ha.members) {
        const hb = mb.myself ? "this node" : mb.last_heartbeat_ms < 0 ? "never heard from" :
          "heard from " + mb.last_heartbeat_ms + " ms ago";
        topo.appendChild(node(mb.addr, mb.role, "offset " + mb.offset.toLocaleString() + ", " + hb,
          mb.suspect));
      }
    } else if (r.role === "slave") {
      const ms = r.master;
      topo.appendChild(node("this server", "replica", "offset " + ms.offset.toLocaleString()));
      topo.appendChild(node(ms.addr, "master", "link " + ms.link + (ms.last_io_s >= 0 ?
        ", last heard " + ms.last_io_s + " s ago" : ""), ms.link !== "up"));
    } else {
      topo.appendChild(node("this server", "master", "offset " + r.offset.toLocaleString() + ", " +
        r.replicas.length + " replica" + (r.replicas.length === 1 ? "" : "s")));
    }
    for (const rep of r.replicas) {
      const d = node(rep.addr, "replica", rep.state + ", offset " + rep.offset.toLocaleString() +
        ", " + rep.behind.toLocaleString() + " bytes behind, lag " + rep.lag_s + " s",
        rep.state !== "online");
      d.dataset.replica = rep.addr;
      topo.appendChild(d);
    }
    $("srv-role").textContent = (m.ha ? m.ha.role : r.role === "slave" ? "replica" : "master") +
      ", " + m.commands_processed.toLocaleString() + " commands since start";

    opsHistory.push([Date.now(), m.ops_per_sec]);
    while (opsHistory.length && opsHistory[0][0] < Date.now() - WINDOW * 1000) opsHistory.shift();
    drawOps();
  }

  function drawOps() {
    const canvas = $("ops-chart");
    if (canvas.offsetParent === null) return;  // hidden view
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    const g = canvas.getContext("2d");
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    const sc = scale(Math.max(1, ...opsHistory.map((p) => p[1])));
    const peak = sc.step * sc.lines;
    g.fillStyle = "#6b7385";
    g.font = "11px system-ui, sans-serif";
    g.fillText(peak + " ops/s", 4, 12);
    g.strokeStyle = "#e2e5eb";
    g.beginPath();
    g.moveTo(0, h - 0.5);
    g.lineTo(w, h - 0.5);
    g.stroke();
    if (!opsHistory.length) return;
    const now = Date.now();
    const x = (t) => w - ((now - t) / (WINDOW * 1000)) * w;
    const y = (v) => h - 2 - (v / peak) * (h - 20);
    g.strokeStyle = "#c62d42";
    g.lineWidth = 2;
    g.beginPath();
    opsHistory.forEach(([t, v], i) => (i ? g.lineTo(x(t), y(v)) : g.moveTo(x(t), y(v))));
    g.stroke();
  }

  function showView(name) {
    for (const v of ["streams", "server"]) {
      $(v + "-view").hidden = v !== name;
      $("tab-" + v).classList.toggle("active", v === name);
    }
    const params = new URLSearchParams(location.hash.slice(1));
    if (name === "server") params.set("view", "server");
    else params.delete("view");
    history.replaceState(null, "", "#" + params.toString().replace(/%3A/g, ":").replace(/%2C/g, ","));
    if (name === "server") drawOps();
    else drawChart();
  }

  // -- controls --------------------------------------------------------------------------------

  function parseNames(text) {
    return text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);
  }

  function apply() {
    const names = parseNames($("streams").value);
    from = $("from").value;
    const newToken = $("token").value;
    const dropped = wanted.filter((n) => !names.includes(n));
    const added = names.filter((n) => !wanted.includes(n));
    wanted = names;
    for (const n of dropped) streams.delete(n);
    if (!ws || newToken !== token) {
      token = newToken;
      if (ws) {
        const old = ws;
        ws = null;
        old.close(1000, "new token");
      }
      connect();
      return;
    }
    if (dropped.length) send({ op: "unsubscribe", streams: dropped });
    subscribe(added);
    renderLegend();
  }

  function init() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.get("streams")) $("streams").value = params.get("streams");
    if (params.get("from")) $("from").value = params.get("from");
    if (params.get("token")) $("token").value = params.get("token");
    for (const b of document.querySelectorAll("button.tab")) {
      b.addEventListener("click", () => showView(b.dataset.view));
    }
    if (params.get("view") === "server") showView("server");
    $("controls").addEventListener("submit", (ev) => {
      ev.preventDefault();
      apply();
    });
    $("clear").addEventListener("click", () => {
      $("entries").tBodies[0].textContent = "";
      total = 0;
      $("total").textContent = "0 received";
    });
    setInterval(tick, 500);
    setInterval(() => send({ op: "ping" }), 25000);  // keeps idle proxies from closing us
    tick();
    if ($("streams").value) apply();
    else connect();
  }

  init();
})();
