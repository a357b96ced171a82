/* 对外信息与标识牌 — a county planner edits what residents read about a site (planner page):
 * opening hours per weekday, the public telephone, the matters the site does not handle; sees
 * whether it is open today (statutory holidays and make-up working days applied by the server);
 * downloads the site's sign plate and the county's order of missing or non-conforming plates.
 *
 * Its own block of planner.html (#site-facts); it talks to the API only:
 *   GET /api/sites?county=…        the county's sites (to pick one)
 *   GET /api/sites/{id}            the site, its version and its facts
 *   GET /api/sites/{id}/facts      open today, in words
 *   GET /api/matters               the catalogue (to exclude matters)
 *   PATCH /api/sites/{id}          {version, opening_hours, public_phone, excluded_matters}
 *   GET /api/sites/{id}/sign.pdf|svg, /api/signs/orders.pdf|xlsx
 */
import { $, api, clear, whenReady, download, el, errorLines, options, say, who } from "/static/common.js";

const DAYS = [
  ["mon", "星期一"],
  ["tue", "星期二"],
  ["wed", "星期三"],
  ["thu", "星期四"],
  ["fri", "星期五"],
  ["sat", "星期六"],
  ["sun", "星期日"],
];
const DAY_KIND = { workday: "工作日", weekend: "周末", holiday: "法定节假日", makeup: "调休上班日" };
const box = $("site-facts");
const state = { sites: [], matters: [], site: null };

function build() {
  clear(box);
  box.appendChild(el("h2", { id: "site-facts-heading" }, "对外信息与标识牌"));
  box.appendChild(
    el("p", { class: "note" }, "群众在“找服务点”页面看到的信息：开放时间、对外电话、可办事项。法定节假日自动按休息显示，调休上班日按星期一的时间开放。")
  );
  box.appendChild(
    el("div", { class: "field" }, [el("label", { for: "facts-site" }, "站点"), el("select", { id: "facts-site" })])
  );
  const days = el("div", { class: "row2" });
  const hours = el("fieldset", { id: "facts-hours" }, [
    el("legend", null, "开放时间（每段写成 08:30-12:00，多段用逗号分隔；不开放留空）"),
    days,
  ]);
  DAYS.forEach(function (d) {
    days.appendChild(
      el("div", { class: "field" }, [
        el("label", { for: "facts-day-" + d[0] }, d[1]),
        el("input", { id: "facts-day-" + d[0], placeholder: "如 08:30-12:00, 14:30-17:30", autocomplete: "off", spellcheck: "false" }),
      ])
    );
  });
  const form = el("form", { id: "facts-form", novalidate: true, autocomplete: "off" }, [
    hours,
    el("div", { class: "actions" }, el("button", { type: "button", id: "facts-copy-monday", class: "small" }, "星期二至星期五同星期一")),
    el("div", { class: "field" }, [
      el("label", { for: "facts-phone" }, "对外电话（公开；手机或带区号的固定电话）"),
      el("input", { id: "facts-phone", inputmode: "tel", maxlength: 30, placeholder: "如 0745-2712345" }),
    ]),
    el("details", null, [
      el("summary", { id: "facts-matters-summary" }, "本站点不办理的事项（默认全部可办）"),
      el("fieldset", { id: "facts-matters" }, [el("legend", null, "勾选本站点不办理的事项")]),
    ]),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", id: "facts-save" }, "保存对外信息")),
    el("p", { id: "facts-result", class: "status", role: "status", "aria-live": "polite" }),
    el("p", { id: "facts-today", class: "note", "aria-live": "polite" }),
  ]);
  box.appendChild(form);
  box.appendChild(el("h3", null, "标识牌"));
  box.appendChild(
    el("p", { class: "note" }, "横版 1200×400 毫米，竖版 400×1200 毫米；二维码指向站点的公开页面。")
  );
  box.appendChild(
    el("div", { class: "field" }, [
      el("label", { for: "facts-layout" }, "版式"),
      el("select", { id: "facts-layout" }),
    ])
  );
  box.appendChild(
    el("div", { class: "actions" }, [
      el("button", { type: "button", id: "sign-pdf" }, "下载本站标识牌（PDF）"),
      el("button", { type: "button", id: "sign-svg" }, "下载本站标识牌（SVG）"),
      el("button", { type: "button", id: "orders-pdf" }, "全县待更换标识牌（PDF）"),
      el("button", { type: "button", id: "orders-xlsx" }, "全县标识牌订制清单（xlsx）"),
    ])
  );
  box.appendChild(el("p", { id: "sign-result", class: "status", role: "status", "aria-live": "polite" }));
  options($("facts-layout"), [
    ["horizontal", "横版 1200×400 毫米"],
    ["vertical", "竖版 400×1200 毫米"],
  ]);

  $("facts-site").addEventListener("change", function () {
    load($("facts-site").value).catch(failed);
  });
  $("facts-copy-monday").addEventListener("click", function () {
    ["tue", "wed", "thu", "fri"].forEach(function (d) {
      $("facts-day-" + d).value = $("facts-day-mon").value;
    });
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save().catch(failed);
  });
  $("sign-pdf").addEventListener("click", () => fetchFile("/api/sites/" + state.site.id + "/sign.pdf", {}, "标识牌.pdf"));
  $("sign-svg").addEventListener("click", () => fetchFile("/api/sites/" + state.site.id + "/sign.svg", {}, "标识牌.svg"));
  $("orders-pdf").addEventListener("click", () => fetchFile("/api/signs/orders.pdf", { county: county() }, "标识牌.pdf"));
  $("orders-xlsx").addEventListener("click", () => fetchFile("/api/signs/orders.xlsx", { county: county() }, "标识牌订制清单.xlsx"));
}

function county() {
  const me = who();
  return (me && me.scope) || "";
}

function failed(error) {
  // Several problems (hours of several days): list them all; one: the message says it.
  const lines = errorLines(error);
  say("facts-result", "未保存：" + (lines.length > 1 ? lines.join("；") : error.message), "bad");
}

async function fetchFile(path, params, name) {
  if (!state.site && path.indexOf("/api/sites/") === 0) return;
  say("sign-result", "正在生成…", "busy");
  try {
    const saved = await download(path, Object.assign({ layout: $("facts-layout").value }, params), name);
    say("sign-result", "已下载：" + saved, "ok");
  } catch (e) {
    say("sign-result", "下载失败：" + e.message, "bad");
  }
}

function hoursText(intervals) {
  return (intervals || []).map((i) => i[0] + "-" + i[1]).join(", ");
}

// "08:30-12:00, 14:30-17:30" → [["08:30","12:00"],["14:30","17:30"]]; the server checks them.
function parseHours(text) {
  return text
    .split(/[,，;；、]/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map(function (part) {
      const times = part.split(/\s*[-–—~～至到]\s*/);
      return times.map(function (t) {
        const m = /^(\d{1,2})[:：](\d{2})$/.exec(t.trim());
        return m ? m[1].padStart(2, "0") + ":" + m[2] : t.trim();
      });
    });
}

async function load(siteId) {
  if (!siteId) return;
  const site = await api("/api/sites/" + siteId);
  state.site = site;
  const hours = site.opening_hours || {};
  DAYS.forEach(function (d) {
    $("facts-day-" + d[0]).value = hoursText(hours[d[0]]);
  });
  $("facts-phone").value = site.public_phone || "";
  const excluded = new Set(site.excluded_matters || []);
  $("facts-matters-summary").textContent =
    "本站点不办理的事项（" + (excluded.size ? "已选 " + excluded.size + " 项" : "默认全部可办") + "）";
  state.matters.forEach(function (m) {
    const box = $("facts-exclude-" + m.code);
    if (box) box.checked = excluded.has(m.code);
  });
  say("facts-result", "");
  await today();
}

async function today() {
  const facts = await api("/api/sites/" + state.site.id + "/facts");
  $("facts-today").textContent =
    "今天（" + facts.day + "，" + (DAY_KIND[facts.day_kind] || facts.day_kind) + "）：" + facts.today_text +
    "；可办事项 " + facts.matters.length + " 项。";
}

async function save() {
  if (!state.site) return;
  const opening = {};
  DAYS.forEach(function (d) {
    opening[d[0]] = parseHours($("facts-day-" + d[0]).value);
  });
  const excluded = state.matters.filter((m) => $("facts-exclude-" + m.code).checked).map((m) => m.code);
  say("facts-result", "正在保存…", "busy");
  const site = await api("/api/sites/" + state.site.id, {
    method: "PATCH",
    json: {
      version: state.site.version,
      opening_hours: opening,
      public_phone: $("facts-phone").value.trim() || null,
      excluded_matters: excluded,
    },
  });
  await load(site.id);
  say("facts-result", "已保存（版本 " + site.version + "）。", "ok");
}

async function start() {
  build();
  const scope = county();
  const [sites, matters] = await Promise.all([
    api("/api/sites", { params: { county: scope, limit: 1000 } }),
    api("/api/matters"),
  ]);
  state.sites = sites.items.filter((s) => s.status !== "closed");
  state.matters = matters.items;
  options(
    $("facts-site"),
    state.sites.map((s) => [String(s.id), s.standard_name]),
    state.sites.length ? "选择站点" : "本县尚无站点"
  );
  const list = $("facts-matters");
  state.matters.forEach(function (m) {
    const id = "facts-exclude-" + m.code;
    list.appendChild(
      el("div", { class: "matter" }, [el("input", { type: "checkbox", id: id, value: m.code }), el("label", { for: id }, " " + m.name + "（" + m.code + "）")])
    );
  });
  if (state.sites.length) {
    $("facts-site").value = String(state.sites[0].id);
    await load(state.sites[0].id);
  }
}

// Started once the page has signed in as a county planner (nothing is asked of the API on a
// wrong-role page).
whenReady().then(function () {
  start().catch(function (e) {
    say("facts-result", "加载失败：" + e.message, "bad");
  });
});
