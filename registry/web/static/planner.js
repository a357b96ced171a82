/* 站点与规划 — the county planner's page: the county's sites on a map and in a table, register
 * or edit a site (click the map or type coordinates in WGS-84 / GCJ-02 / BD-09), record status
 * changes, and the county's construction plan (template, upload, row errors, submit, comments).
 */
import {
  $, api, chinaDate, chinaDateTime, clear, CRS, debounce, download, el, errorLines, geoView,
  options, PLAN_STATE, requireRole, say, svg, tabs, toWgs84,
} from "/static/common.js";
import {
  CENTRE_KINDS, INITIAL_STATUSES, SITE_KIND_LABELS, STATUSES, STATUS_COLOURS, STATUS_LABELS,
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
};

function status(text, kind) {
  say("status", text, kind);
}

function fail(target) {
  return function (error) {
    const lines = errorLines(error);
    say(target, error.message + (lines.length ? "：" + lines.join("；") : ""), "bad");
  };
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
    return (s.standard_name + " " + (s.signage_name || "") + " " + s.division_code).indexOf(words) >= 0;
  });
  shown.forEach(function (s) {
    const row = el("tr", { class: "clickable" + (state.selected && state.selected.id === s.id ? " selected" : ""), "data-id": s.id, tabindex: 0 }, [
      el("td", null, [s.standard_name, s.signage_name && s.signage_name !== s.standard_name ? el("div", { class: "note" }, "标识：" + s.signage_name) : null]),
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
    return [d.code, prefix + d.name + (taken ? "（已有站点）" : ""), Boolean(taken)];
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
  $("form-heading").textContent = "编辑站点：" + s.standard_name;
  $("new-site").hidden = false;
  $("division-fields").hidden = true;
  $("initial-status").hidden = true;
  $("site-save").textContent = "保存修改";
  $("signage").value = s.signage_name || "";
  $("lon").value = String(s.lon);
  $("lat").value = String(s.lat);
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

async function saveSite(event) {
  event.preventDefault();
  const result = $("site-result");
  const xy = coordinates();
  if (!xy) {
    say(result, "请点击地图或输入有效的经纬度。", "bad");
    $("lon").focus();
    return;
  }
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
      if (xy.crs !== "wgs84" || Math.abs(xy.lon - s.lon) > 1e-7 || Math.abs(xy.lat - s.lat) > 1e-7) {
        Object.assign(body, xy, { coord_method: state.picked ? "map_pick" : null });
      }
      if (signage !== (s.signage_name || "")) body.signage_name = signage || null;
      if (address !== (s.address || "")) body.address = address || null;
      site = await api("/api/sites/" + s.id, { method: "PATCH", json: body });
    } else {
      const division = $("division").value;
      if (!division) {
        say(result, "请选择站点所在区划。", "bad");
        $("division").focus();
        return;
      }
      site = await api("/api/sites", {
        json: Object.assign(
          {
            division_code: division,
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
    say(
      result,
      (editing ? "已保存：" : "已登记：") + site.standard_name + "（编号 " + site.id + "）" + (warnings.length ? "。提示：" + warnings.join("；") : ""),
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
  const centre = CENTRE_KINDS.includes(s.kind);
  const choices = STATUSES.filter((k) => k !== s.status && (centre || k !== "standardized"));
  options($("status-next"), choices.map((k) => [k, STATUS_LABELS[k]]), "请选择");
  $("status-date").value = chinaDate();
  $("status-note").value = "";
  say("status-result", "");
  loadHistory(s.id);
}

async function loadHistory(id) {
  const list = clear($("history"));
  try {
    const h = await api("/api/sites/" + id + "/history");
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
        list.appendChild(el("li", { class: "item" }, [el("div", { class: "meta" }, chinaDateTime(e.at) + " · " + e.actor + " 修改 " + e.field + "：" + fmt(e.before) + " → " + fmt(e.after))]));
      });
  } catch (error) {
    list.appendChild(el("li", { class: "bad" }, error.message));
  }
}

function fmt(value) {
  if (value === null || value === undefined || value === "") return "（空）";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

async function saveStatus(event) {
  event.preventDefault();
  const s = state.selected;
  const next = $("status-next").value;
  const day = $("status-date").value;
  if (!s || !next || !day) {
    say("status-result", "请选择新状态和生效日期。", "bad");
    return;
  }
  try {
    await api("/api/sites/" + s.id + "/status", { json: { status: next, effective_date: day, note: $("status-note").value.trim() || null } });
    await loadSites();
    drawSites();
    selectSite(s.id);
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

function showRowErrors(errors) {
  const table = $("row-errors");
  const tbody = clear(table.querySelector("tbody"));
  table.hidden = !errors.length;
  errors.slice(0, 300).forEach(function (e) {
    tbody.appendChild(el("tr", { "data-row": e.row || "" }, [el("td", null, e.field || (e.row ? "第 " + e.row + " 行" : "")), el("td", null, String(e.message || "").split(" / ")[0])]));
  });
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
    if (!body.dry_run) await loadPlan();
  } catch (error) {
    say(result, error.message, "bad");
    showRowErrors(error.body.errors || []);
  } finally {
    $("upload").disabled = false;
  }
}

async function submitPlan() {
  if (!state.plan) return;
  const result = $("submit-result");
  $("plan-submit").disabled = true;
  try {
    // The revision read: a plan changed since (another planner's upload) is not submitted.
    const plan = await api("/api/plans/" + state.plan.id + "/submit", { json: { comment: $("submit-comment").value.trim() || null, revision: state.plan.revision } });
    say(result, "已提交审核（第 " + plan.version + " 版）。", "ok");
    $("submit-comment").value = "";
    await loadPlan();
  } catch (error) {
    if (error.status === 409 && error.code === "version_conflict") {
      await loadPlan().catch(() => null);
      say(result, error.message + "（已重新载入最新内容，请核对后再提交）", "bad");
      return;
    }
    say(result, error.message, "bad");
    showRowErrors(error.body.errors || []);
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
  $("site-filter").addEventListener("input", debounce(renderTable, 150));
  $("site-status-filter").addEventListener("change", renderTable);
  $("campaign").addEventListener("change", () => loadPlan().catch(fail("upload-result")));
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
    status(county.name + "：" + state.sites.length + " 个站点。", "ok");
    document.body.setAttribute("data-ready", "true");
  } catch (error) {
    status("加载失败：" + error.message, "bad");
  }
}

start();
