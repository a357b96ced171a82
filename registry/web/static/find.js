// /find: the residents' search. Search by name, pinyin or initials, or by the browser's
// location; each result shows the village's agency point, the township's centre, today's
// hours, a phone to tap and a small map of our own (SVG, nothing fetched but /api/find).
// No framework, no third-party code: the whole page is a few kilobytes.

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) {
      el.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
  }
  return el;
}

function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

function say(text, warn) {
  const status = $("status");
  status.textContent = text;
  status.className = warn ? "status warn" : "status";
}

function phone(p) {
  if (!p.public_phone) return "暂未公布";
  return h("a", { class: "tel", href: "tel:" + p.public_phone.replace(/[^\d+-]/g, "") }, p.public_phone);
}

function badge(p) {
  return p.serving
    ? h("span", { class: "badge ok" }, "正在服务")
    : h("span", { class: "badge no" }, "暂未开放（" + p.status_label + "）");
}

function facts(p) {
  return h(
    "dl",
    { class: "facts" },
    h("dt", {}, "状态"), h("dd", {}, badge(p)),
    h("dt", {}, "今天"), h("dd", {}, p.hours_today),
    h("dt", {}, "电话"), h("dd", {}, phone(p)),
    h("dt", {}, "地址"), h("dd", {}, p.address || "暂未登记"),
    p.distance_text ? [h("dt", {}, "距离"), h("dd", {}, "约 " + p.distance_text)] : null,
  );
}

function pointBlock(p, heading) {
  return h(
    "section",
    { class: "point" },
    h("h3", {}, heading),
    h("p", { class: "name" }, h("a", { href: p.url }, p.name)),
    facts(p),
  );
}

// A small map: the points of a result (and the resident, when located), north up.
function miniMap(points, label) {
  const pts = points.filter(Boolean);
  if (!pts.length) return null;
  const w = 320, hgt = 180, pad = 26;
  const lat0 = pts.reduce((a, p) => a + p.lat, 0) / pts.length;
  const kx = 111320 * Math.cos((lat0 * Math.PI) / 180), ky = 110540;
  const xs = pts.map((p) => p.lon * kx), ys = pts.map((p) => p.lat * ky);
  const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 1000);
  const scale = Math.min((w - 2 * pad) / span, (hgt - 2 * pad - 16) / span);
  const cx = (Math.max(...xs) + Math.min(...xs)) / 2, cy = (Math.max(...ys) + Math.min(...ys)) / 2;
  const svg = s("svg", { viewBox: `0 0 ${w} ${hgt}`, class: "map", role: "img", "aria-label": label });
  svg.append(s("rect", { x: 0, y: 0, width: w, height: hgt, fill: "#f4f7fb" }));
  pts.forEach((p, i) => {
    const x = w / 2 + (xs[i] - cx) * scale, y = (hgt - 16) / 2 - (ys[i] - cy) * scale;
    const colour = p.you ? "#b3261e" : p.serving ? "#1a7f37" : "#8a8a8a";
    const mark = p.centre
      ? s("rect", { x: x - 7, y: y - 7, width: 14, height: 14, fill: colour, stroke: "#fff", "stroke-width": 2 })
      : s("circle", { cx: x, cy: y, r: p.you ? 7 : 6, fill: colour, stroke: "#fff", "stroke-width": 2 });
    svg.append(mark);
    const t = s("text", { x: x + 10, y: y + 4, "font-size": 12, fill: "#111", stroke: "#fff", "stroke-width": 3, "paint-order": "stroke" });
    t.textContent = p.label;
    svg.append(t);
  });
  let metres = w / 4 / scale, nice = Math.pow(10, Math.floor(Math.log10(metres)));
  for (const step of [5, 2, 1]) if (step * nice <= metres) { nice *= step; break; }
  svg.append(s("path", { d: `M10 ${hgt - 8} h${nice * scale}`, stroke: "#333", "stroke-width": 3 }));
  const t = s("text", { x: 10, y: hgt - 13, "font-size": 11, fill: "#333" });
  t.textContent = nice >= 1000 ? nice / 1000 + "公里" : nice + "米";
  svg.append(t);
  return h("figure", {}, svg);
}

function asMark(p, label, centre) {
  return p ? { lon: p.lon, lat: p.lat, serving: p.serving, label, centre } : null;
}

function hitCard(hit, you) {
  const where = [hit.county_name, hit.township_name].filter(Boolean).join(" ");
  const card = h("article", { class: "card" }, h("h2", {}, hit.name), h("p", { class: "where" }, where ? [where, " · ", hit.level_label] : hit.level_label));
  if (hit.level === "county") {
    // The county's townships, each linked to its centre's page (the same as the page without script).
    if (hit.townships && hit.townships.length) {
      card.append(h("h3", {}, "各乡镇（街道）"));
      card.append(
        h(
          "ul",
          { class: "townships" },
          hit.townships.map((t) =>
            h("li", {}, [h("a", { href: t.url }, t.name), " ", h("span", { class: t.serving ? "ok" : "muted" }, "便民服务中心" + t.centre_status_label)]),
          ),
        ),
      );
    }
    card.append(h("p", {}, "请点乡镇名称，或继续输入村的名称，查看具体的服务点。"));
    return card;
  }
  if (hit.point) {
    card.append(pointBlock(hit.point, hit.level === "village" ? "本村的代办点" : "本乡镇的便民服务中心"));
  }
  if (hit.level === "village" && (!hit.point || !hit.point.serving)) {
    const text = hit.point ? "本村的代办点还没有开放。" : "本村还没有设立便民服务代办点。";
    card.append(h("p", { class: "warn" }, text + (hit.nearest ? "最近的代办点是：" : "")));
    if (hit.nearest) card.append(pointBlock(hit.nearest, "最近的代办点"));
  }
  if (hit.level === "township" && !hit.point) {
    card.append(h("p", { class: "warn" }, "本乡镇还没有登记便民服务中心。"));
  }
  if (hit.centre) card.append(pointBlock(hit.centre, "所属乡镇的便民服务中心"));
  const map = miniMap(
    [
      asMark(hit.point, hit.name, false),
      asMark(hit.nearest, hit.nearest && hit.nearest.division_name, false),
      asMark(hit.centre, hit.township_name || "乡镇中心", true),
      you ? { lon: you[0], lat: you[1], you: true, label: "您的位置" } : null,
    ],
    hit.name + "服务点位置示意图",
  );
  if (map) card.append(map);
  card.append(h("p", {}, h("a", { class: "button", href: hit.url + "#matters" }, "查看可办事项和办事指南")));
  return card;
}

function render(data) {
  const out = $("results");
  out.replaceChildren();
  if (data.nearby && data.nearby.length) {
    const list = h("article", { class: "card" }, h("h2", {}, "离您最近的服务点"));
    for (const p of data.nearby) list.append(pointBlock(p, p.division_name));
    const map = miniMap(
      [{ lon: data.location[0], lat: data.location[1], you: true, label: "您的位置" }].concat(
        data.nearby.map((p) => asMark(p, p.division_name, p.kind.endsWith("centre"))),
      ),
      "您附近的服务点位置示意图",
    );
    if (map) list.append(map);
    out.append(list);
  }
  for (const hit of data.items) out.append(hitCard(hit, data.location));
}

async function ask(params) {
  const url = "/api/find?" + new URLSearchParams(params).toString();
  let response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" } });
  } catch (e) {
    say("网络不通，请稍后再试。", true);
    return null;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    say(body.detail_zh || "查询没有成功，请换个说法再试。", true);
    return null;
  }
  return body;
}

let latest = 0;
async function search(q) {
  const mine = ++latest;
  if (!q.trim()) {
    $("results").replaceChildren();
    say("");
    return;
  }
  say("正在查找…");
  const data = await ask({ q });
  if (!data || mine !== latest) return;
  render(data);
  say(data.items.length ? `找到 ${data.items.length} 个地方。` : "没有找到，请检查名称，或试试拼音首字母。", !data.items.length);
  history.replaceState(null, "", "/find?q=" + encodeURIComponent(q));
}

function locate() {
  if (!navigator.geolocation) {
    say("这个浏览器不能定位，请输入村或乡镇的名称。", true);
    return;
  }
  say("正在获取您的位置…");
  navigator.geolocation.getCurrentPosition(
    async (pos) => {
      const mine = ++latest;
      // Browsers report WGS-84 (GPS) coordinates.
      const data = await ask({ lon: pos.coords.longitude, lat: pos.coords.latitude, crs: "wgs84" });
      if (!data || mine !== latest) return;
      render(data);
      say(data.nearby.length ? `找到离您最近的 ${data.nearby.length} 个服务点。` : "附近没有正在服务的服务点。", !data.nearby.length);
    },
    () => say("没有拿到您的位置。请允许定位，或者输入村、乡镇的名称。", true),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

let timer = 0;
$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  clearTimeout(timer);
  search($("q").value);
});
$("q").addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => search($("q").value), 300);
});
$("locate").addEventListener("click", locate);

const initial = new URLSearchParams(location.search).get("q");
if (initial) {
  $("q").value = initial;
  search(initial);
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/find-sw.js", { scope: "/find" }).catch(() => {});
}
