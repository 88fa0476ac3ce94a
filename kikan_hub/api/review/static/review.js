// 外字同定 確認ページ: no external assets, no framework. Decisions go to /api/decide.
"use strict";
const $ = (id) => document.getElementById(id);
const HDR = { "Content-Type": "application/json", "X-Kikan-Review": "1" };
let items = [];
let cur = 0;

async function api(path, body) {
  const opt = body === undefined ? { credentials: "same-origin" }
    : { method: "POST", headers: HDR, body: JSON.stringify(body), credentials: "same-origin" };
  const r = await fetch(path, opt);
  let data = {};
  try { data = await r.json(); } catch (e) { /* empty body */ }
  if (r.status === 401 && path !== "/api/login") { showLogin(); }
  if (!r.ok) { throw new Error(data.error || `HTTP ${r.status}`); }
  return data;
}

function status(text, ok) {
  const s = $("status");
  s.textContent = text;
  s.className = ok ? "ok" : "ng";
}

function showLogin() {
  $("login").hidden = false;
  $("review").hidden = true;
  $("who").textContent = "";
  $("client-id").focus();
}

async function start() {
  try {
    const me = await api("/api/me");
    $("login").hidden = true;
    $("review").hidden = false;
    $("who").textContent = `${me.name || me.client_id} (${me.client_id}) — 台帳 ${me.register} / ${me.source_system} / フォント ${me.font} `;
    const out = document.createElement("button");
    out.textContent = "ログアウト";
    out.addEventListener("click", async () => { await api("/api/logout", {}); showLogin(); });
    $("who").appendChild(out);
    await load();
  } catch (e) { showLogin(); }
}

async function load(keepPua) {
  const show = $("show-all").checked ? "all" : "pending";
  const data = await api(`/api/items?show=${show}`);
  items = data.items;
  $("count").textContent = `未決定 ${items.filter((i) => i.pending).length} / 全 ${data.total} 文字`;
  if (keepPua) {
    const i = items.findIndex((x) => x.pua === keepPua);
    cur = i >= 0 ? i : Math.min(cur, items.length - 1);
  }
  cur = Math.max(0, Math.min(cur, items.length - 1));
  renderList();
  renderCard();
}

function renderList() {
  const ol = $("items");
  ol.replaceChildren();
  items.forEach((it, i) => {
    const li = document.createElement("li");
    li.dataset.pua = it.pua;
    if (i === cur) li.className = "current";
    const img = document.createElement("img");
    img.src = `/glyph/vendor/${it.pua}.png`;
    img.alt = it.pua;
    const t = document.createElement("span");
    t.textContent = `${it.pua}  ${it.source_code}`;
    li.append(img, t);
    if (!it.pending) {
      const d = document.createElement("span");
      d.className = "done";
      d.textContent = it.mj || "候補なし";
      li.append(d);
    }
    li.addEventListener("click", () => { cur = i; renderList(); renderCard(); });
    ol.append(li);
  });
}

function renderCard() {
  const it = items[cur];
  $("empty").hidden = !!it;
  $("card").hidden = !it;
  if (!it) return;
  $("vendor-img").src = `/glyph/vendor/${it.pua}.png`;
  $("vendor-img").alt = `ベンダー字形 ${it.pua}`;
  $("v-pua").textContent = it.pua;
  $("v-code").textContent = `${it.source_code} (${it.source_system})`;
  $("v-status").textContent = it.status + (it.mj ? ` ${it.mj}` : "");
  $("v-note").textContent = it.glyph_note || "—";
  $("v-decided").textContent = it.decided_by ? `${it.decided_by} ${it.decided_at}` : "—";
  const tb = $("cands").tBodies[0];
  tb.replaceChildren();
  it.candidates.slice(0, 9).forEach((c) => {
    const tr = document.createElement("tr");
    tr.dataset.mj = c.mj;
    if (it.mj === c.mj) tr.className = "chosen";
    const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
    const imgTd = document.createElement("td");
    const img = document.createElement("img");
    img.src = `/glyph/mj/${c.mj}.png`;
    img.alt = c.mj;
    imgTd.append(img);
    const btnTd = document.createElement("td");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = "これに決定";
    b.className = "pick";
    b.addEventListener("click", () => pick(c.mj));
    btnTd.append(b);
    tr.append(cell(String(c.rank), "key"), imgTd, cell(c.mj), cell(`${c.text || "（符号なし）"} ${c.ucs ? "U+" + c.ucs.replace(" ", " U+") : ""}`),
      cell((c.yomi || []).join("・") || "—"), cell(c.strokes == null ? "—" : String(c.strokes)), cell(c.score.toFixed(3)), btnTd);
    tb.append(tr);
  });
  $("note").value = "";
}

async function decide(body, message) {
  const it = items[cur];
  if (!it) return;
  try {
    const res = await api("/api/decide", { pua: it.pua, ...body });
    const log = res.log;
    // a decided character leaves the pending list and the next one takes its place; a note keeps it
    await load($("show-all").checked || res.item.pending ? it.pua : null);
    status(`${message}: ${it.pua} ${res.item.status}${res.item.mj ? " " + res.item.mj : ""} — ${log.by} ${log.at}`, true);
  } catch (e) { status(`記録できませんでした: ${e.message}`, false); }
}

const pick = (mj) => decide({ action: "pick", mj, note: $("note").value }, `記録しました (${mj})`);

function move(d) {
  if (!items.length) return;
  cur = (cur + d + items.length) % items.length;
  renderList();
  renderCard();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await api("/api/login", { client_id: $("client-id").value, secret: $("secret").value });
    $("secret").value = "";
    $("login-error").textContent = "";
    await start();
  } catch (e) { $("login-error").textContent = e.message; }
});
$("show-all").addEventListener("change", () => load());
$("none-button").addEventListener("click", () => decide({ action: "none", note: $("note").value }, "候補なしとして記録しました"));
$("mj-button").addEventListener("click", () => pick($("mj-input").value.trim()));
$("note-button").addEventListener("click", () => decide({ action: "note", note: $("note").value }, "メモを記録しました"));
$("note").addEventListener("keydown", (ev) => {
  if (ev.key === "Enter") { ev.preventDefault(); decide({ action: "note", note: $("note").value }, "メモを記録しました"); }
});

document.addEventListener("keydown", (ev) => {
  if (ev.key === "Escape") { document.activeElement.blur(); return; }
  const tag = (ev.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || ev.ctrlKey || ev.metaKey || ev.altKey || $("review").hidden) return;
  const it = items[cur];
  if (ev.key >= "1" && ev.key <= "9") {
    const c = it && it.candidates[Number(ev.key) - 1];
    if (c) { ev.preventDefault(); pick(c.mj); }
  } else if (ev.key === "0") { ev.preventDefault(); decide({ action: "none", note: "" }, "候補なしとして記録しました"); }
  else if (ev.key === "n") { ev.preventDefault(); move(1); }
  else if (ev.key === "p") { ev.preventDefault(); move(-1); }
  else if (ev.key === "m") { ev.preventDefault(); $("note").focus(); }
});

start();
