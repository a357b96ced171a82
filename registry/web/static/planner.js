/* 站点与规划 — the county planner's page: the county's sites on a map and in a table, register
 * or edit a site (click the map or type coordinates in WGS-84 / GCJ-02 / BD-09), record status
 * changes, and the county's construction plan (template, upload, row errors, submit, comments).
 */
import {
  $, api, chinaDate, chinaDateTime, clear, CRS, debounce, download, el, errorLines, geoView,
  options, PLAN_STATE, requireRole, say, svg, tabs, toWgs84,
} from "/static/common.js";
import {
  CENTRE_KINDS, INITIAL_STATUSES, PLAN_TARGET_LABELS, PLAN_TARGETS, SITE_KIND_LABELS, STATUSES, STATUS_COLOURS,
  STATUS_LABELS,
} from "/static/vocab.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const state = {
  me: null,
  county: null, // {code, name}
  sites: [],
  siteById: new Map(),
  openByDivision: new Map(), // division code → open site
  townships: [],
  villages: new Map(), // township code → divisions
  selected: null, // site being edited
  view: null, // map projection
  picked: false, // coordinates set by a map click
  campaigns: [],
  plan: null, // newest plan version of the chosen campaign
  moves: null, // {allowed, note}: the status moves of the selected site (from its history)
  editingItem: null, // division code of the plan item being edited
};

function status(text, kind) {
  say("status", text, kind);
}

// The fields of the site and plan forms in words (an error names the field, never its key).
const FIELD_WORDS = {
  lon: "经度", lat: "纬度", crs: "坐标系", division_code: "区划", signage_name: "现场标识名称", address: "地址",
  status: "状态", effective_date: "日期", note: "说明", coord_method: "坐标来源", title: "规划名称",
  target: "建设目标", target_date: "目标日期", budget_yuan: "预算", funding_source: "资金来源", comment: "提交说明",
};

function fieldWord(field) {
  const key = String(field || "").replace(/^items\[\d+\]\./, "");
  return FIELD_WORDS[key] || "";
}

// An error said once: the message, then each field's problem only when it adds something.
function errorText(error) {
  const extra = [];
  ((error.body && error.body.errors) || []).forEach(function (e) {
    const message = String(e.message || "").split(" / ")[0];
    if (!message || message === error.message || extra.indexOf(message) >= 0) return;
    extra.push(e.row ? errorLines({ body: { errors: [e] } })[0] : (fieldWord(e.field) ? fieldWord(e.field) + "：" : "") + message);
  });
  return error.message + (extra.length ? "：" + extra.join("；") : "");
}

function fail(target) {
  return function (error) {
    say(target, errorText(error), "bad");
  };
}

function countSites() {
  status(state.county.name + "：" + state.sites.length + " 个站点。", "ok");
}

function townshipName(code) {
  const t = state.townships.find((d) => d.code === code);
  return t ? t.name : "";
}

// Coordinates as typed and shown: 6 decimals (about 0.1 m).
function coord(value) {
  return Number(value).toFixed(6);
}

// ---------------------------------------------------------------- loading

async function loadSites() {
  const all = [];
  for (let offset = 0; ; offset += 1000) {
    const body = await api("/api/sites", { params: { county: state.county.code, limit: 1000, offset: offset } });
    all.push.apply(all, body.items);
    if (all.length >= body.total || !body.items.length) break;
  }
  state.sites = all;
  state.siteById = new Map(all.map((s) => [s.id, s]));
  state.openByDivision = new Map(all.filter((s) => s.status !== "closed").map((s) => [s.division_code, s]));
}

async function loadMap() {
  const feature = await api("/api/divisions/" + state.county.code + "/boundary", { params: { simplified: "true" }, auth: false });
  const map = clear($("map"));
  state.view = geoView(map, feature.geometry, 0.04);
  map.appendChild(svg("path", { class: "county", d: state.view.path(feature.geometry), "fill-rule": "evenodd" }));
  map.appendChild(svg("g", { id: "site-layer" }));
  map.appendChild(svg("g", { id: "pick-layer" }));
  map.addEventListener("click", function (event) {
    const ll = state.view.lonLat(event);
    $("lon").value = ll[0].toFixed(6);
    $("lat").value = ll[1].toFixed(6);
    $("crs").value = "wgs84";
    state.picked = true;
    drawPick();
    checkCoordinates();
  });
}

function drawSites() {
  const layer = clear($("site-layer"));
  const u = state.view.unitsPerPixel();
  state.sites.forEach(function (s) {
    if (s.status === "closed") return;
    const xy = state.view.point(s.lon, s.lat);
    const centre = CENTRE_KINDS.includes(s.kind);
    const dot = svg(
      "circle",
      {
        class: "site" + (state.selected && state.selected.id === s.id ? " selected" : ""),
        cx: xy[0].toFixed(6),
        cy: xy[1].toFixed(6),
        r: ((centre ? 5 : 3.5) * u).toFixed(6),
        fill: STATUS_COLOURS[s.status] || "#999",
        "data-id": s.id,
      },
      svg("title", null, (s.signage_name || s.standard_name) + " · " + (STATUS_LABELS[s.status] || s.status))
    );
    dot.addEventListener("click", function (event) {
      event.stopPropagation();
      selectSite(s.id);
    });
    layer.appendChild(dot);
  });
}

function drawPick() {
  const layer = clear($("pick-layer"));
  const lon = parseFloat($("lon").value);
  const lat = parseFloat($("lat").value);
  if (!isFinite(lon) || !isFinite(lat) || !state.view) return;
  const w = toWgs84(lon, lat, $("crs").value);
  const xy = state.view.point(w[0], w[1]);
  const u = state.view.unitsPerPixel();
  layer.appendChild(svg("circle", { class: "pick", id: "pick", cx: xy[0].toFixed(6), cy: xy[1].toFixed(6), r: (9 * u).toFixed(6) }));
  layer.appendChild(svg("circle", { class: "pick", cx: xy[0].toFixed(6), cy: xy[1].toFixed(6), r: (1.5 * u).toFixed(6) }));
}

function renderLegend() {
  const box = clear($("legend"));
  STATUSES.forEach(function (k) {
    if (k === "closed") return;
    const dot = el("span", { class: "dot" });
    dot.style.background = STATUS_COLOURS[k];
    box.appendChild(el("span", null, [dot, STATUS_LABELS[k]]));
  });
  box.appendChild(el("span", null, "大圆点：便民服务中心；小圆点：代办点"));
}

// ---------------------------------------------------------------- table

function renderTable() {
  const tbody = clear($("site-table").querySelector("tbody"));
  const words = $("site-filter").value.trim();
  const wanted = $("site-status-filter").value;
  const shown = state.sites.filter(function (s) {
    if (wanted && s.status !== wanted) return false;
    if (!words) return true;
    return (s.standard_name + " " + (s.signage_name || "") + " " + townshipName(s.township_code) + " " + s.division_code).indexOf(words) >= 0;
  });
  shown.forEach(function (s) {
    const row = el("tr", { class: "clickable" + (state.selected && state.selected.id === s.id ? " selected" : ""), "data-id": s.id, tabindex: 0 }, [
      el("td", null, [
        s.standard_name,
        el("div", { class: "note township" }, townshipName(s.township_code) || "—"),
        s.signage_name && s.signage_name !== s.standard_name ? el("div", { class: "note" }, "标识：" + s.signage_name) : null,
      ]),
      el("td", { class: "wide-only" }, SITE_KIND_LABELS[s.kind] || s.kind),
      el("td", null, STATUS_LABELS[s.status] || s.status),
      el("td", { class: "wide-only" }, s.status_since),
      el("td", null, s.signage_conforms === true ? el("span", { class: "badge good" }, "规范") : s.signage_conforms === false ? el("span", { class: "badge bad" }, "不规范") : "未报"),
    ]);
    row.addEventListener("click", () => selectSite(s.id));
    row.addEventListener("keydown", function (event) {
      if (event.key === "Enter") selectSite(s.id);
    });
    tbody.appendChild(row);
  });
  $("sites-count").textContent = "共 " + state.sites.length + " 个，显示 " + shown.length + " 个";
}

// ---------------------------------------------------------------- divisions and signage

async function villagesOf(township) {
  if (!state.villages.has(township)) {
    const body = await api("/api/divisions", { params: { parent: township, limit: 1000 }, auth: false });
    state.villages.set(township, body.items);
  }
  return state.villages.get(township);
}

async function fillDivisions() {
  const township = $("township").value;
  const select = $("division");
  if (!township) {
    options(select, [], "请先选择乡镇（街道）");
    return;
  }
  const t = state.townships.find((d) => d.code === township);
  const villages = await villagesOf(township);
  const label = function (d, prefix) {
    const taken = state.openByDivision.get(d.code);
    const gone = Boolean(d.abolished_on);
    return [d.code, prefix + d.name + (gone ? "（已撤销）" : taken ? "（已有站点）" : ""), Boolean(taken) || gone];
  };
  options(select, [label(t, "【中心】")].concat(villages.map((v) => label(v, ""))), "请选择区划");
  showStandardName();
}

const checkSignage = debounce(async function () {
  const division = state.selected ? state.selected.division_code : $("division").value;
  const name = $("signage").value.trim();
  const hint = $("signage-hint");
  if (!division) {
    $("standard-name").textContent = "—";
    say(hint, "");
    return;
  }
  try {
    const body = await api("/api/signage/check", { params: { division_code: division, name: name }, auth: false });
    $("standard-name").textContent = body.standard_name;
    if (!name) say(hint, "未填写：将按标准名称登记为未报。");
    else if (body.conforms) {
      say(hint, "✓ 符合标准名称", "ok");
      $("signage").setAttribute("aria-invalid", "false");
    } else {
      say(hint, "✗ 不规范：" + body.problems.map((p) => p.message_zh).join("；"), "bad");
      $("signage").setAttribute("aria-invalid", "true");
    }
  } catch (error) {
    say(hint, error.message, "bad");
  }
}, 200);

function showStandardName() {
  $("signage").removeAttribute("aria-invalid");
  checkSignage();
}

const checkCoordinates = debounce(async function () {
  const hint = $("coord-hint");
  const lon = parseFloat($("lon").value);
  const lat = parseFloat($("lat").value);
  drawPick();
  if (!isFinite(lon) || !isFinite(lat)) {
    say(hint, "");
    return;
  }
  const crs = $("crs").value;
  const w = toWgs84(lon, lat, crs);
  let text = crs === "wgs84" || crs === "cgcs2000" ? "" : "换算为 WGS-84 约 " + w[0].toFixed(6) + ", " + w[1].toFixed(6) + "。";
  try {
    const body = await api("/api/geo/locate", { params: { lon: lon, lat: lat, crs: crs }, auth: false, keep401: true });
    const mine = body.county && body.county.code === state.county.code;
    say(hint, text + (mine ? "位于" + body.county.name + "。" : "位于" + (body.county ? body.county.name : "其他地区") + "，不在本县！"), mine ? "ok" : "bad");
  } catch (error) {
    say(hint, text + (error.status === 404 ? "该点不在本登记册所辖范围内！" : error.message), "bad");
  }
}, 250);

// ---------------------------------------------------------------- register / edit

function selectSite(id) {
  const s = state.siteById.get(id);
  if (!s) return;
  state.selected = s;
  state.picked = false;
  $("form-heading").textContent = "编辑站点：" + s.standard_name + (townshipName(s.township_code) ? "（" + townshipName(s.township_code) + "）" : "");
  $("new-site").hidden = false;
  $("division-fields").hidden = true;
  $("initial-status").hidden = true;
  $("site-save").textContent = "保存修改";
  $("signage").value = s.signage_name || "";
  $("lon").value = coord(s.lon);
  $("lat").value = coord(s.lat);
  $("crs").value = "wgs84";
  $("address").value = s.address || "";
  say("site-result", s.location_warning ? "位置提示：" + s.location_warning : "", s.location_warning ? "warn" : null);
  showStandardName();
  checkCoordinates();
  drawSites();
  renderTable();
  showStatusCard(s);
}

function newSite() {
  state.selected = null;
  state.picked = false;
  $("site-form").reset();
  $("crs").value = "wgs84";
  $("effective-date").value = chinaDate();
  $("effective-date").max = chinaDate();
  $("form-heading").textContent = "登记新站点";
  $("new-site").hidden = true;
  $("division-fields").hidden = false;
  $("initial-status").hidden = false;
  $("site-save").textContent = "登记站点";
  $("status-card").hidden = true;
  say("coord-hint", "");
  say("site-result", "");
  fillDivisions();
  drawPick();
  drawSites();
  renderTable();
}

function coordinates() {
  const lon = parseFloat($("lon").value);
  const lat = parseFloat($("lat").value);
  if (!isFinite(lon) || !isFinite(lat) || lon < 70 || lon > 140 || lat < 0 || lat > 60) return null;
  return { lon: lon, lat: lat, crs: $("crs").value };
}

// The first problem of the form, checked in the order the fields appear: [message, field id].
function formProblem() {
  if (!state.selected) {
    if (!$("township").value) return ["请选择乡镇（街道）。", "township"];
    if (!$("division").value) return ["请选择站点所在区划。", "division"];
  }
  if (!coordinates()) return ["请点击地图或输入有效的经纬度。", "lon"];
  return null;
}

async function saveSite(event) {
  event.preventDefault();
  const result = $("site-result");
  const problem = formProblem();
  if (problem) {
    say(result, problem[0], "bad");
    $(problem[1]).focus();
    return;
  }
  const xy = coordinates();
  const signage = $("signage").value.trim();
  const address = $("address").value.trim();
  const editing = Boolean(state.selected);
  const button = $("site-save");
  button.disabled = true;
  say(result, "正在保存…", "busy");
  try {
    let site;
    if (state.selected) {
      const s = state.selected;
      const body = { version: s.version };
      // Unchanged coordinates are the stored ones rounded to the 6 decimals shown.
      if (xy.crs !== "wgs84" || coord(xy.lon) !== coord(s.lon) || coord(xy.lat) !== coord(s.lat)) {
        Object.assign(body, xy, { coord_method: state.picked ? "map_pick" : null });
      }
      if (signage !== (s.signage_name || "")) body.signage_name = signage || null;
      if (address !== (s.address || "")) body.address = address || null;
      site = await api("/api/sites/" + s.id, { method: "PATCH", json: body });
    } else {
      site = await api("/api/sites", {
        json: Object.assign(
          {
            division_code: $("division").value,
            signage_name: signage || null,
            address: address || null,
            status: $("status-new").value,
            effective_date: $("effective-date").value || null,
            coord_method: state.picked ? "map_pick" : null,
          },
          xy
        ),
      });
    }
    const warnings = site.warnings || [];
    await loadSites();
    drawSites();
    selectSite(site.id);
    countSites();
    say(
      result,
      (editing ? "已保存：" : "已登记：") + site.standard_name + (warnings.length ? "。提示：" + warnings.join("；") : ""),
      warnings.length ? "warn" : "ok"
    );
    result.setAttribute("data-site-id", String(site.id));
  } catch (error) {
    fail(result)(error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- status

function showStatusCard(s) {
  $("status-card").hidden = false;
  $("status-current").textContent = "当前：" + (STATUS_LABELS[s.status] || s.status) + "（自 " + s.status_since + "）";
  // The moves offered come with the history (the server's rules); none until it is loaded.
  options($("status-next"), [], "正在载入…");
  state.moves = { allowed: [], note: [] };
  $("status-date").value = chinaDate();
  $("status-date").max = chinaDate();
  $("status-date").min = s.status_since || "";
  $("status-note").value = "";
  $("status-note").required = false;
  $("status-save").disabled = true;
  say("status-result", "");
  loadHistory(s.id);
}

function offerMoves(history) {
  state.moves = { allowed: history.allowed_next || [], note: history.note_required || [] };
  const closed = !state.moves.allowed.length;
  options(
    $("status-next"),
    state.moves.allowed.map((k) => [k, STATUS_LABELS[k] + (state.moves.note.indexOf(k) >= 0 ? "（须填写说明）" : "")]),
    closed ? "站点已撤销，不能再变更" : "请选择"
  );
  $("status-next").disabled = closed;
  $("status-save").disabled = closed;
  const last = history.events.length ? history.events[history.events.length - 1].effective_date : "";
  if (last) $("status-date").min = last;
  noteRule();
}

// A closure or a backward move needs a note: the field says so as soon as one is chosen.
function noteRule() {
  const needed = state.moves && state.moves.note.indexOf($("status-next").value) >= 0;
  $("status-note").required = Boolean(needed);
  $("status-note-label").textContent = needed ? "说明（必填）" : "说明（撤销或回退状态时必填）";
}

async function loadHistory(id) {
  const list = clear($("history"));
  try {
    const h = await api("/api/sites/" + id + "/history");
    if (state.selected && state.selected.id === id) offerMoves(h);
    h.events
      .slice()
      .reverse()
      .forEach(function (e) {
        list.appendChild(
          el("li", { class: "item" }, [
            el("div", { class: "head" }, [el("span", { class: "title" }, STATUS_LABELS[e.status] || e.status), el("span", { class: "meta" }, e.effective_date)]),
            el("div", { class: "meta" }, "记录人 " + e.actor + (e.note ? " · " + e.note : "") + (e.skipped && e.skipped.length ? " · 跳过 " + e.skipped.map((k) => STATUS_LABELS[k] || k).join("、") : "")),
          ])
        );
      });
    h.edits
      .slice(-10)
      .reverse()
      .forEach(function (e) {
        list.appendChild(el("li", { class: "item" }, [el("div", { class: "meta" }, chinaDateTime(e.at) + " · " + e.actor + " 修改" + (EDIT_WORDS[e.field] || "") + "：" + fmt(e.field, e.before) + " → " + fmt(e.field, e.after))]));
      });
  } catch (error) {
    list.appendChild(el("li", { class: "bad" }, error.message));
  }
}

const EDIT_WORDS = Object.assign({}, FIELD_WORDS, {
  signage_conforms: "标识是否规范", signage_problems: "标识问题", location_warning: "位置提示", collected_on: "采集日期",
  standard_name: "标准名称", hall_area_m2: "大厅面积", staff_count: "工作人员数", contact_phone: "联系电话",
});

// An edited value in words: coordinates to 6 decimals, yes/no, lists joined, never raw JSON.
function fmt(field, value) {
  if (value === null || value === undefined || value === "") return "（空）";
  if (field === "lon" || field === "lat") return coord(value);
  if (field === "coord_method") return { map_pick: "地图点选", gps: "现场定位", survey: "测绘", geocoded: "地址解析" }[value] || "其他";
  if (typeof value === "boolean") return value ? "是" : "否";
  if (Array.isArray(value)) return value.length ? value.map((v) => (v && typeof v === "object" ? v.message_zh || "…" : String(v))).join("、") : "（无）";
  if (typeof value === "object") return "（已修改）";
  return String(value);
}

async function saveStatus(event) {
  event.preventDefault();
  const s = state.selected;
  const next = $("status-next").value;
  const day = $("status-date").value;
  const note = $("status-note").value.trim();
  if (!s || !next) {
    say("status-result", "请选择新状态。", "bad");
    $("status-next").focus();
    return;
  }
  if (!day || day > chinaDate() || (s.status_since && day < $("status-date").min)) {
    say("status-result", "生效日期应在 " + ($("status-date").min || "上次变更") + " 至今天之间。", "bad");
    $("status-date").focus();
    return;
  }
  if ($("status-note").required && !note) {
    say("status-result", next === "closed" ? "撤销站点须填写说明（撤销原因）。" : "回退状态须填写说明。", "bad");
    $("status-note").setAttribute("aria-invalid", "true");
    $("status-note").focus();
    return;
  }
  $("status-note").removeAttribute("aria-invalid");
  if (next === "closed" && !window.confirm("撤销是最终状态，撤销后该站点不能再变更状态。确定撤销“" + s.standard_name + "”吗？")) {
    say("status-result", "未撤销。", null);
    return;
  }
  try {
    await api("/api/sites/" + s.id + "/status", { json: { status: next, effective_date: day, note: note || null } });
    await loadSites();
    drawSites();
    selectSite(s.id);
    countSites();
    say("status-result", "已记录：" + STATUS_LABELS[next] + "（" + day + "）", "ok");
  } catch (error) {
    fail("status-result")(error);
  }
}

// ---------------------------------------------------------------- plan

function campaign() {
  return $("campaign").value;
}

async function loadPlan() {
  const summary = clear($("plan-summary"));
  const overview = await api("/api/plans", { params: { county: state.county.code, campaign: campaign() } });
  const row = overview.items[0];
  state.plan = row && row.plan_id ? await api("/api/plans/" + row.plan_id) : null;
  const p = state.plan;
  const st = row ? row.state : "none";
  summary.appendChild(
    el("p", null, [
      el("span", { class: "badge " + (st === "approved" ? "good" : st === "returned" ? "bad" : st === "submitted" ? "info" : "warn"), id: "plan-state", "data-state": st }, PLAN_STATE[st] || st),
      p ? " 第 " + p.version + " 版《" + p.title + "》，" + p.item_count + " 项" : " 尚未上传规划",
      row && row.in_force_version ? "；现行有效：第 " + row.in_force_version + " 版" : "",
      row && row.review_due_on && st === "submitted" ? "；应于 " + row.review_due_on + " 前审核" + (row.review_overdue ? "（已逾期）" : "") : "",
    ])
  );
  $("plan-submit").disabled = !(p && (p.state === "draft" || p.state === "returned"));
  if (p && p.state === "returned" && p.was_returned) {
    // Say before submitting whether anything changed since the return.
    const diff = await api("/api/plans/" + p.id + "/changes");
    const n = diff.added.length + diff.removed.length + diff.changed.length;
    summary.appendChild(
      el(
        "p",
        { id: "since-return", class: n || diff.title_changed ? "note" : "warn" },
        n || diff.title_changed
          ? "自退回以来：新增 " + diff.added.length + " 项，删除 " + diff.removed.length + " 项，修改 " + diff.changed.length + " 项。"
          : "自退回以来还没有任何修改：请按审核意见修改后再提交。"
      )
    );
  }
  renderItems();
  renderReviews();
  await renderVersions();
}

function renderReviews() {
  const list = clear($("reviews"));
  const reviews = state.plan ? state.plan.reviews : [];
  if (!reviews.length) list.appendChild(el("li", { class: "note" }, "暂无审核意见。"));
  const label = { submit: "提交", approve: "批准", return: "退回" };
  reviews
    .slice()
    .reverse()
    .forEach(function (r) {
      list.appendChild(
        el("li", { class: "item" + (r.action === "return" ? " overdue" : ""), "data-action": r.action }, [
          el("div", { class: "head" }, [el("span", { class: "title" }, label[r.action] || r.action), el("span", { class: "meta" }, chinaDateTime(r.at) + " · " + r.actor)]),
          el("div", { class: "comment" }, r.comment || "（无说明）"),
        ])
      );
    });
}

async function renderVersions() {
  const tbody = clear($("versions").querySelector("tbody"));
  if (!state.plan) return;
  const body = await api("/api/plans/" + state.plan.id + "/versions");
  body.items.forEach(function (v) {
    tbody.appendChild(
      el("tr", null, [
        el("td", null, "第 " + v.version + " 版" + (v.in_force ? "（现行）" : "")),
        el("td", null, PLAN_STATE[v.state] || v.state),
        el("td", { class: "num" }, String(v.item_count)),
        el("td", null, chinaDateTime(v.submitted_at)),
        el("td", null, chinaDateTime(v.decided_at)),
      ])
    );
  });
}

// Where a problem is, in words: the sheet cell, the item's division, or the field.
function problemPlace(e) {
  if (e.row && e.field) return e.field; // the server's place in the workbook: 规划 第3行 目标日期
  if (e.row) return "第 " + e.row + " 行" + (e.column ? " " + e.column : "");
  const m = /^items\[(\d+)\]\.(\w+)$/.exec(e.field || "");
  if (m) return "第 " + (Number(m[1]) + 1) + " 条" + (fieldWord(m[2]) ? " " + fieldWord(m[2]) : "");
  if (String(e.field || "").indexOf("missing_explained") === 0) return "未列入的区划";
  return fieldWord(e.field) || "规划";
}

function showRowErrors(errors) {
  const table = $("row-errors");
  const tbody = clear(table.querySelector("tbody"));
  table.hidden = !errors.length;
  errors.slice(0, 300).forEach(function (e) {
    tbody.appendChild(el("tr", { "data-row": e.row || "", "data-code": e.code || "" }, [el("td", null, problemPlace(e)), el("td", null, String(e.message || "").split(" / ")[0])]));
  });
}

// ---------------------------------------------------------------- plan items (edited without Excel)

function editable() {
  return Boolean(state.plan && (state.plan.state === "draft" || state.plan.state === "returned"));
}

function campaignInfo() {
  return state.campaigns.find((c) => c.code === campaign()) || null;
}

function villageLevel() {
  const c = campaignInfo();
  return !c || c.figure !== "standardization";
}

function renderItems() {
  const card = $("items-card");
  const p = state.plan;
  card.hidden = !p;
  if (!p) return;
  $("item-form").hidden = !editable();
  const words = $("item-filter").value.trim();
  const tbody = clear($("plan-items").querySelector("tbody"));
  const shown = p.items.filter((i) => !words || (i.division_name + " " + (i.township_name || "")).indexOf(words) >= 0);
  shown.forEach(function (i) {
    const actions = editable()
      ? [
          el("button", { type: "button", class: "small", "data-edit": i.division_code, "aria-label": "修改 " + (i.township_name || "") + i.division_name }, "修改"),
          " ",
          el("button", { type: "button", class: "small", "data-remove": i.division_code, "aria-label": "删除 " + (i.township_name || "") + i.division_name }, "删除"),
        ]
      : "—";
    tbody.appendChild(
      el("tr", { "data-division": i.division_code, class: state.editingItem === i.division_code ? "selected" : "" }, [
        el("td", null, i.township_name || "—"),
        el("td", null, i.division_name),
        el("td", null, PLAN_TARGET_LABELS[i.target] || i.target),
        el("td", null, i.target_date),
        el("td", { class: "num" }, i.budget_yuan === null ? "—" : i.budget_yuan.toLocaleString("zh-CN")),
        el("td", null, actions),
      ])
    );
  });
  $("items-count").textContent = "共 " + p.items.length + " 项" + (words ? "，显示 " + shown.length + " 项" : "");
  if (editable() && !$("item-target").options.length) resetItemForm();
}

async function fillItemDivisions() {
  const select = $("item-division");
  const township = $("item-township").value;
  if (!villageLevel()) {
    options(select, township ? [[township, townshipName(township)]] : [], "请先选择乡镇（街道）");
    select.value = township;
    return;
  }
  if (!township) {
    options(select, [], "请先选择乡镇（街道）");
    return;
  }
  const planned = new Set(state.plan ? state.plan.items.map((i) => i.division_code) : []);
  const villages = await villagesOf(township);
  options(
    select,
    villages.map(function (v) {
      const gone = Boolean(v.abolished_on);
      const has = planned.has(v.code) && v.code !== state.editingItem;
      return [v.code, v.name + (gone ? "（已撤销）" : has ? "（已列入）" : ""), gone || has];
    }),
    "请选择"
  );
}

function resetItemForm() {
  state.editingItem = null;
  const c = campaignInfo();
  const targets = PLAN_TARGETS.filter((t) => !villageLevel() || t !== "standardized");
  options($("item-target"), targets.map((t) => [t, PLAN_TARGET_LABELS[t]]), "请选择");
  options($("item-township"), state.townships.map((t) => [t.code, t.name + (t.abolished_on ? "（已撤销）" : ""), Boolean(t.abolished_on)]), "请选择");
  $("item-township").disabled = false;
  $("item-division").disabled = false;
  $("item-date").value = "";
  $("item-date").min = c ? c.start_on : "";
  $("item-date").max = c ? c.deadline : "";
  $("item-budget").value = "";
  $("item-funding").value = "";
  $("item-save").textContent = "加入规划";
  $("item-cancel").hidden = true;
  fillItemDivisions();
}

async function editItem(code) {
  const i = state.plan.items.find((x) => x.division_code === code);
  if (!i) return;
  resetItemForm();
  state.editingItem = code;
  $("item-township").value = villageLevel() ? i.township_code : code;
  await fillItemDivisions();
  $("item-division").value = code;
  $("item-township").disabled = true;
  $("item-division").disabled = true;
  $("item-target").value = i.target;
  $("item-date").value = i.target_date;
  $("item-budget").value = i.budget_yuan === null ? "" : String(i.budget_yuan);
  $("item-funding").value = i.funding_source || "";
  $("item-save").textContent = "保存修改";
  $("item-cancel").hidden = false;
  say("item-result", "正在修改：" + (i.township_name ? i.township_name + " " : "") + i.division_name);
  renderItems();
  $("item-target").focus();
}

function itemBody(i) {
  return { division_code: i.division_code, target: i.target, target_date: i.target_date, budget_yuan: i.budget_yuan, funding_source: i.funding_source, note: i.note };
}

// Write the plan's items with the revision read: someone else's change since is not overwritten.
async function putItems(items, explained, done) {
  const p = state.plan;
  try {
    const body = { title: p.title, items: items, revision: p.revision };
    if (explained) body.missing_explained = explained;
    await api("/api/plans/" + p.id, { method: "PUT", json: body });
    await loadPlan();
    say("item-result", done, "ok");
    say("submit-result", "");
    return true;
  } catch (error) {
    if (error.status === 409 && error.code === "version_conflict") {
      await loadPlan().catch(() => null);
      say("item-result", error.message + "（已重新载入最新内容，请核对后再修改）", "bad");
      return false;
    }
    fail("item-result")(error);
    return false;
  }
}

async function saveItem(event) {
  event.preventDefault();
  const code = $("item-division").value;
  const target = $("item-target").value;
  const day = $("item-date").value;
  const budgetText = $("item-budget").value.trim();
  const checks = [
    [!$("item-township").value, "请选择乡镇（街道）。", "item-township"],
    [!code, "请选择区划。", "item-division"],
    [!target, "请选择建设目标。", "item-target"],
    [!day || (day < $("item-date").min) || (day > $("item-date").max), "目标日期应在 " + $("item-date").min + " 至 " + $("item-date").max + " 之间。", "item-date"],
    [budgetText && !/^\d+$/.test(budgetText), "预算应为整数（元）。", "item-budget"],
  ];
  const bad = checks.find((c) => c[0]);
  if (bad) {
    say("item-result", bad[1], "bad");
    $(bad[2]).focus();
    return;
  }
  const p = state.plan;
  const old = p.items.find((i) => i.division_code === code);
  const item = {
    division_code: code,
    target: target,
    target_date: day,
    budget_yuan: budgetText ? Number(budgetText) : null,
    funding_source: $("item-funding").value.trim() || null,
    note: old ? old.note : null,
  };
  const items = p.items.filter((i) => i.division_code !== code).map(itemBody).concat([item]);
  // A division planned now no longer needs its reason for being left out.
  let explained = null;
  if (p.missing_explained && p.missing_explained[code] !== undefined) {
    explained = Object.assign({}, p.missing_explained);
    delete explained[code];
  }
  const name = $("item-division").selectedOptions[0] ? $("item-division").selectedOptions[0].textContent : "";
  $("item-save").disabled = true;
  try {
    if (await putItems(items, explained, (old ? "已修改：" : "已加入：") + name)) resetItemForm();
  } finally {
    $("item-save").disabled = false;
  }
}

async function removeItem(code) {
  const p = state.plan;
  const i = p.items.find((x) => x.division_code === code);
  if (!i) return;
  const name = (i.township_name ? i.township_name + " " : "") + i.division_name;
  if (!window.confirm("从本规划删除“" + name + "”吗？删除后该区划须重新列入或说明不纳入原因，才能提交审核。")) return;
  await putItems(p.items.filter((x) => x.division_code !== code).map(itemBody), null, "已删除：" + name);
}

async function upload(event) {
  event.preventDefault();
  const file = $("plan-file").files[0];
  const result = $("upload-result");
  showRowErrors([]);
  if (!file) {
    say(result, "请选择填好的规划表格。", "bad");
    return;
  }
  if (file.size > 5 * 1000 * 1000) {
    say(result, "文件超过 5 MB。", "bad");
    return;
  }
  $("upload").disabled = true;
  say(result, "正在上传并检查…", "busy");
  try {
    const body = await api("/api/plans/import", { body: file, type: XLSX, params: { dry_run: $("dry-run").checked ? "true" : null } });
    const action = { create: "已创建规划", update: "已更新规划", unchanged: "内容未变", new_version: "已创建新版本" }[body.action] || body.action;
    const check = body.check;
    const warnings = check.warnings || [];
    say(
      result,
      (body.dry_run ? "检查完成（未保存）" : action) + "：" + body.items + " 项，另有 " + body.explained + " 个区划说明了不纳入原因。" +
        (check.ok ? "可以提交审核。" : "尚有 " + (check.errors.length + warnings.length) + " 个问题，提交前须处理。"),
      check.ok ? "ok" : "warn"
    );
    showRowErrors(check.errors.concat(warnings));
    if (!body.dry_run) {
      say("submit-result", "");
      await loadPlan();
    }
  } catch (error) {
    say(result, error.message + (error.body && error.body.errors && error.body.errors.length ? "。下表列出全部问题，请一并改正后重新上传。" : ""), "bad");
    showRowErrors(error.body ? error.body.errors || [] : []);
  } finally {
    $("upload").disabled = false;
  }
}

async function submitPlan() {
  if (!state.plan) return;
  const result = $("submit-result");
  $("plan-submit").disabled = true;
  const body = { comment: $("submit-comment").value.trim() || null, revision: state.plan.revision };
  try {
    // The revision read: a plan changed since (another planner's upload) is not submitted.
    let plan;
    try {
      plan = await api("/api/plans/" + state.plan.id + "/submit", { json: body });
    } catch (error) {
      if (!(error.status === 409 && error.code === "plan_unchanged")) throw error;
      // Returned and not changed since (a corrected upload may have failed): ask first.
      const sure = window.confirm("这份规划自退回以来没有任何修改（如果修改稿上传失败，请先改正后重新上传）。\n\n确定要原样重新提交审核吗？");
      if (!sure) {
        say(result, "未提交：规划自退回以来没有修改。请上传修改后的表格或在“规划条目”中修改后再提交。", "warn");
        $("plan-submit").disabled = false;
        return;
      }
      plan = await api("/api/plans/" + state.plan.id + "/submit", { json: Object.assign({ confirm_unchanged: true }, body) });
    }
    say(result, "已提交审核（第 " + plan.version + " 版）。", "ok");
    say("upload-result", "");
    showRowErrors([]);
    $("submit-comment").value = "";
    await loadPlan();
  } catch (error) {
    if (error.status === 409 && error.code === "version_conflict") {
      await loadPlan().catch(() => null);
      say(result, error.message + "（已重新载入最新内容，请核对后再提交）", "bad");
      return;
    }
    say(result, error.message, "bad");
    showRowErrors(error.body ? error.body.errors || [] : []);
    $("plan-submit").disabled = false;
  }
}

// ---------------------------------------------------------------- start

function wire() {
  tabs(document.querySelector(".tabs"), function (id) {
    if (id === "tab-sites" && state.view) drawSites();
  });
  $("township").addEventListener("change", fillDivisions);
  $("division").addEventListener("change", showStandardName);
  $("signage").addEventListener("input", checkSignage);
  ["lon", "lat"].forEach(function (id) {
    $(id).addEventListener("input", function () {
      state.picked = false;
      checkCoordinates();
    });
  });
  $("crs").addEventListener("change", checkCoordinates);
  $("site-form").addEventListener("submit", saveSite);
  $("new-site").addEventListener("click", newSite);
  $("status-form").addEventListener("submit", saveStatus);
  $("status-next").addEventListener("change", noteRule);
  $("skip-to-form").addEventListener("click", function (event) {
    event.preventDefault();
    const first = state.selected ? $("signage") : $("township");
    first.focus();
    first.scrollIntoView({ block: "center" });
  });
  $("item-form").addEventListener("submit", saveItem);
  $("item-township").addEventListener("change", fillItemDivisions);
  $("item-cancel").addEventListener("click", function () {
    resetItemForm();
    say("item-result", "");
    renderItems();
  });
  $("item-filter").addEventListener("input", debounce(renderItems, 150));
  $("plan-items").addEventListener("click", function (event) {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.getAttribute("data-edit")) editItem(button.getAttribute("data-edit"));
    if (button.getAttribute("data-remove")) removeItem(button.getAttribute("data-remove"));
  });
  $("site-filter").addEventListener("input", debounce(renderTable, 150));
  $("site-status-filter").addEventListener("change", renderTable);
  $("campaign").addEventListener("change", function () {
    options($("item-target"), []);
    loadPlan().catch(fail("upload-result"));
  });
  $("template-download").addEventListener("click", function () {
    download("/api/plans/template.xlsx", { county: state.county.code, campaign: campaign() }, "plan-template.xlsx")
      .then((name) => say("upload-result", "已下载 " + name, "ok"))
      .catch(fail("upload-result"));
  });
  $("upload-form").addEventListener("submit", upload);
  $("plan-submit").addEventListener("click", submitPlan);
  window.addEventListener("resize", debounce(() => state.view && (drawSites(), drawPick()), 200));
}

async function start() {
  options($("crs"), Object.keys(CRS).map((k) => [k, CRS[k]]));
  options($("status-new"), INITIAL_STATUSES.map((k) => [k, STATUS_LABELS[k]]));
  options($("site-status-filter"), STATUSES.map((k) => [k, STATUS_LABELS[k]]), "全部");
  renderLegend();
  wire();
  try {
    state.me = await requireRole("county_planner");
    const [county, townships, campaigns] = await Promise.all([
      api("/api/divisions/" + state.me.scope, { auth: false }),
      api("/api/divisions", { params: { parent: state.me.scope, level: "township", limit: 1000 }, auth: false }),
      api("/api/coverage/campaigns", { auth: false }),
    ]);
    state.county = { code: county.code, name: county.name };
    $("page-title").textContent = "站点与规划 · " + county.name;
    document.title = county.name + " · 站点与规划";
    state.townships = townships.items;
    options($("township"), townships.items.map((t) => [t.code, t.name + (t.abolished_on ? "（已撤销）" : ""), Boolean(t.abolished_on)]), "请选择");
    state.campaigns = campaigns.items;
    options($("campaign"), campaigns.items.map((c) => [c.code, c.name]));
    await Promise.all([loadMap(), loadSites()]);
    drawSites();
    renderTable();
    newSite();
    await loadPlan();
    countSites();
    document.body.setAttribute("data-ready", "true");
  } catch (error) {
    status("加载失败：" + error.message, "bad");
  }
}

start();
