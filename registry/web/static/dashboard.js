/* 怀化市便民服务中心与代办点建设进展 — the public dashboard.
 *
 * Plain JavaScript and SVG, served by the registry itself: no CDN, no web fonts, no map tiles.
 * Every text from the data goes into the page through textContent or an SVG attribute, never
 * through innerHTML.
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var TOKEN_KEY = "registry.token";
  // The map's class scheme, the same as the server's SVG map (geo/render.py COVERAGE_CLASSES).
  var CLASSES = {
    breaks: [0, 0.2, 0.4, 0.6, 0.8, 1.0],
    colours: ["#ffffcc", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837"],
    labels: ["0–20%", "20–40%", "40–60%", "60–80%", "80–<100%", "100%（完成）"],
    nullColour: "#d9d9d9",
    nullLabel: "无数据",
  };
  var STATUS = {
    planned: ["规划中", "#bdbdbd"],
    under_construction: ["在建", "#fdae6b"],
    built: ["已建成", "#6baed6"],
    in_service: ["已运行", "#2171b5"],
    standardized: ["已达标", "#08306b"],
    suspended: ["暂停", "#e6550d"],
    closed: ["已撤销", "#636363"],
  };
  var KIND = {
    township_centre: "乡镇便民服务中心",
    street_centre: "街道便民服务中心",
    village_point: "村代办点",
    community_point: "社区代办点",
  };
  var ROLE = { municipal: "市政务服务中心", county_planner: "县级规划员", village_agent: "村代办员" };
  var WORK_PAGE = { municipal: "/municipal", county_planner: "/planner", village_agent: "/agent" };

  var state = {
    campaigns: [],
    campaign: null,
    today: null,
    asOf: null,
    county: null,
    coverage: null,
    geo: null,
    townships: [],
    sort: { key: "figure", dir: 1 },
    loadId: 0,
  };

  // ------------------------------------------------------------------ helpers

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (/^on/i.test(key)) throw new Error("event attributes are not allowed");
      node.setAttribute(key, value === true ? "" : String(value));
    });
  }

  function append(node, children) {
    if (children === null || children === undefined) return;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function num(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function classOf(value) {
    if (value === null || value === undefined) return null;
    var b = CLASSES.breaks;
    if (value >= b[b.length - 1]) return CLASSES.colours.length - 1;
    for (var i = 0; i < b.length - 1; i++) if (value < b[i + 1]) return i;
    return CLASSES.colours.length - 1;
  }

  function colourOf(value) {
    var i = classOf(value);
    return i === null ? CLASSES.nullColour : CLASSES.colours[i];
  }

  function verdict(unit) {
    if (unit.achieved) return { cls: "done", text: "已完成" };
    if (unit.on_track === true) return { cls: "good", text: "进度正常" };
    if (unit.on_track === false) return { cls: "bad", text: "落后" };
    return { cls: "none", text: "无数据" };
  }

  function badge(unit) {
    var v = verdict(unit);
    return el("span", { class: "badge " + v.cls }, v.text);
  }

  function bar(value, target, unit) {
    var v = verdict(unit);
    var fill = el("span", { class: "fill " + v.cls });
    fill.style.width = Math.max(0, Math.min(1, value || 0)) * 100 + "%";
    var mark = el("span", { class: "target", title: "目标 " + pct(target) });
    mark.style.left = "calc(" + Math.max(0, Math.min(1, target || 0)) * 100 + "% - 1px)";
    return el(
      "div",
      {
        class: "bar",
        role: "meter",
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": value === null ? "" : (value * 100).toFixed(1),
        "aria-label": "进度 " + pct(value) + "，目标 " + pct(target),
      },
      [fill, mark]
    );
  }

  function setStatus(text, failed) {
    var node = $("status");
    node.textContent = text;
    node.className = failed ? "status failed" : "status";
  }

  function token() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === null || value === undefined || value === "") return;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  function api(path, params, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    if (options.auth && token()) headers.Authorization = "Bearer " + token();
    if (options.body) headers["Content-Type"] = "application/json";
    return fetch(path + query(params || {}), {
      method: options.method || "GET",
      headers: headers,
      body: options.body ? JSON.stringify(options.body) : undefined,
      credentials: "same-origin",
    }).then(function (response) {
      if (options.raw && response.ok) return response;
      var type = response.headers.get("content-type") || "";
      var parsed = type.indexOf("json") >= 0 ? response.json() : response.text();
      return parsed.then(function (body) {
        if (!response.ok) {
          var error = new Error((body && body.detail) || "请求失败 (" + response.status + ")");
          error.status = response.status;
          error.code = body && body.code;
          throw error;
        }
        return body;
      });
    });
  }

  function common() {
    return { as_of: state.asOf, campaign: state.campaign && state.campaign.code };
  }

  // ------------------------------------------------------------------ URL state

  function readHash() {
    var out = {};
    window.location.hash
      .replace(/^#/, "")
      .split("&")
      .forEach(function (pair) {
        if (!pair) return;
        var kv = pair.split("=");
        try {
          out[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || "");
        } catch (e) {
          /* ignore a malformed fragment */
        }
      });
    return out;
  }

  function writeHash() {
    var params = { campaign: state.campaign.code, as_of: state.asOf, county: state.county };
    var hash = query(params).replace(/^\?/, "#");
    if (window.location.hash !== hash) window.history.replaceState(null, "", hash || "#");
  }

  // ------------------------------------------------------------------ map

  function projector(features, width, height, pad) {
    var minLon = Infinity,
      minLat = Infinity,
      maxLon = -Infinity,
      maxLat = -Infinity;
    features.forEach(function (f) {
      eachPosition(f.geometry, function (p) {
        if (p[0] < minLon) minLon = p[0];
        if (p[0] > maxLon) maxLon = p[0];
        if (p[1] < minLat) minLat = p[1];
        if (p[1] > maxLat) maxLat = p[1];
      });
    });
    var k = Math.cos(((minLat + maxLat) / 2) * (Math.PI / 180));
    var w = (maxLon - minLon) * k;
    var h = maxLat - minLat;
    var s = Math.min((width - 2 * pad) / w, (height - 2 * pad) / h);
    var ox = pad + (width - 2 * pad - w * s) / 2;
    var oy = pad + (height - 2 * pad - h * s) / 2;
    var project = function (lon, lat) {
      return [ox + (lon - minLon) * k * s, oy + (maxLat - lat) * s];
    };
    project.kmPerPixel = 111.195 / s;
    return project;
  }

  function eachPosition(geometry, fn) {
    if (!geometry) return;
    var polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    if (geometry.type !== "Polygon" && geometry.type !== "MultiPolygon") return;
    polys.forEach(function (rings) {
      rings.forEach(function (ring) {
        ring.forEach(fn);
      });
    });
  }

  function pathOf(geometry, project) {
    var polys = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polys
      .map(function (rings) {
        return rings
          .map(function (ring) {
            return (
              "M" +
              ring
                .map(function (p) {
                  var xy = project(p[0], p[1]);
                  return xy[0].toFixed(1) + "," + xy[1].toFixed(1);
                })
                .join("L") +
              "Z"
            );
          })
          .join("");
      })
      .join("");
  }

  function renderMap() {
    var map = $("map");
    clear(map);
    var counties = state.geo.features.filter(function (f) {
      return f.properties && f.properties.layer === "county" && f.geometry;
    });
    var project = projector(counties, 600, 640, 14);
    state.project = project;
    var shapes = svg("g", { id: "counties" });
    var labels = svg("g", { id: "county-labels" });
    counties.forEach(function (f) {
      var p = f.properties;
      var unit = unitByCode(p.code) || p;
      var path = svg("path", {
        class: "county" + (state.county === p.code ? " selected" : "") +
          (state.county && state.county !== p.code ? " dimmed" : ""),
        d: pathOf(f.geometry, project),
        fill: colourOf(unit.figure),
        "fill-rule": "evenodd",
        "data-code": p.code,
        "data-name": p.name,
        tabindex: 0,
        role: "button",
        "aria-label": p.name + " " + pct(unit.figure),
      });
      path.addEventListener("mouseenter", function (event) {
        showTooltip(event, unit);
      });
      path.addEventListener("mousemove", moveTooltip);
      path.addEventListener("mouseleave", hideTooltip);
      path.addEventListener("click", function () {
        selectCounty(p.code);
      });
      path.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          selectCounty(p.code);
        }
      });
      shapes.appendChild(path);
      if (typeof p.label_lon === "number") {
        var xy = project(p.label_lon, p.label_lat);
        labels.appendChild(svg("text", { class: "label", x: xy[0].toFixed(1), y: xy[1].toFixed(1), "text-anchor": "middle" }, p.name));
        labels.appendChild(
          svg("text", { class: "label value", x: xy[0].toFixed(1), y: (xy[1] + 13).toFixed(1), "text-anchor": "middle" }, pct(unit.figure))
        );
      }
    });
    map.appendChild(shapes);
    map.appendChild(svg("g", { id: "site-points" }));
    map.appendChild(labels);
    map.appendChild(scaleBar(project));
    renderLegend();
    $("map-note").textContent =
      "县界经拓扑保持简化（0.001°≈100 米，保留 4 位小数，WGS-84）。颜色为" +
      state.coverage.campaign_info.figure_label + "（截至 " + state.asOf + "）。";
  }

  function scaleBar(project) {
    var km = 50;
    var px = km / project.kmPerPixel;
    while (px > 150 && km > 5) {
      km = km / 2;
      px = km / project.kmPerPixel;
    }
    var x = 20,
      y = 620;
    return svg("g", { id: "map-scale" }, [
      svg("rect", { x: x, y: y, width: (px / 2).toFixed(1), height: 4, fill: "#333" }),
      svg("rect", { x: (x + px / 2).toFixed(1), y: y, width: (px / 2).toFixed(1), height: 4, fill: "#fff", stroke: "#333", "stroke-width": 0.8 }),
      svg("text", { x: x, y: y - 4, class: "label value", "text-anchor": "middle" }, "0"),
      svg("text", { x: (x + px).toFixed(1), y: y - 4, class: "label value", "text-anchor": "middle" }, km + " 公里"),
    ]);
  }

  function renderLegend() {
    var legend = $("map-legend");
    clear(legend);
    CLASSES.colours.forEach(function (colour, i) {
      var sw = el("span", { class: "swatch" });
      sw.style.background = colour;
      legend.appendChild(el("span", null, [sw, CLASSES.labels[i]]));
    });
    legend.appendChild(el("span", null, [el("span", { class: "swatch nodata" }), CLASSES.nullLabel]));
    if (state.county && $("show-points").checked) {
      Object.keys(STATUS).forEach(function (key) {
        if (key === "closed") return;
        var dot = el("span", { class: "dot" });
        dot.style.background = STATUS[key][1];
        legend.appendChild(el("span", null, [dot, STATUS[key][0]]));
      });
    }
  }

  function renderPoints(collection) {
    var group = $("site-points");
    if (!group) return;
    clear(group);
    if (!collection || !$("show-points").checked) return;
    var project = state.project;
    collection.features.forEach(function (f) {
      var p = f.properties;
      if (!p || p.layer !== "site" || !f.geometry) return;
      var xy = project(f.geometry.coordinates[0], f.geometry.coordinates[1]);
      var centre = p.kind === "township_centre" || p.kind === "street_centre";
      var dot = svg(
        "circle",
        {
          class: "site",
          cx: xy[0].toFixed(1),
          cy: xy[1].toFixed(1),
          r: centre ? 4 : 2.2,
          fill: (STATUS[p.status] || ["", "#000"])[1],
          "data-kind": p.kind,
          "data-status": p.status,
        },
        svg("title", null, p.standard_name + " · " + (KIND[p.kind] || p.kind) + " · " + ((STATUS[p.status] || [p.status])[0]))
      );
      group.appendChild(dot);
    });
  }

  function showTooltip(event, unit) {
    var tip = $("tooltip");
    clear(tip);
    append(tip, [
      el("strong", null, unit.name),
      el("div", null, state.coverage.campaign_info.figure_label + "：" + pct(unit.figure) + "（目标 " + pct(unit.target) + "）"),
      el("div", null, "运行代办点 " + num(unit.points_in_service) + " / 村(社区) " + num(unit.villages_total)),
      el("div", null, "达标中心 " + num(unit.centres_standardized) + " / 乡镇(街道) " + num(unit.townships_total)),
      el("div", null, verdict(unit).text + (unit.projected_completion ? "，预计 " + unit.projected_completion + " 完成" : "")),
    ]);
    tip.hidden = false;
    moveTooltip(event);
  }

  function moveTooltip(event) {
    var tip = $("tooltip");
    var box = $("map").parentNode.getBoundingClientRect();
    tip.style.left = Math.min(event.clientX - box.left + 12, box.width - 200) + "px";
    tip.style.top = event.clientY - box.top + 12 + "px";
  }

  function hideTooltip() {
    $("tooltip").hidden = true;
  }

  // ------------------------------------------------------------------ detail and drill-down

  function unitByCode(code) {
    if (!state.coverage) return null;
    for (var i = 0; i < state.coverage.counties.length; i++) {
      if (state.coverage.counties[i].code === code) return state.coverage.counties[i];
    }
    return null;
  }

  function renderDetail(unit, townships) {
    var info = state.coverage.campaign_info;
    $("detail-title").textContent = unit.name + " · 截至 " + state.asOf;
    $("back-to-city").hidden = !state.county;
    var body = $("detail-body");
    clear(body);
    var rows = [
      ["村(社区)总数", num(unit.villages_total)],
      ["已建成代办点（已建成或运行）", num(unit.points_built)],
      ["运行代办点", num(unit.points_in_service)],
      ["活跃代办点（近 90 天有办件）", num(unit.points_active)],
      ["代办点覆盖率", pct(unit.agency_coverage)],
      ["乡镇(街道)总数", num(unit.townships_total)],
      ["运行便民服务中心", num(unit.centres_in_service)],
      ["达标便民服务中心", num(unit.centres_standardized)],
      ["中心标准化率", pct(unit.standardization)],
      ["目标进度（" + (unit.target_source === "plan" ? "已批准规划" : "线性") + "）", pct(unit.target)],
      ["预计完成日期", unit.projected_completion || "—"],
    ];
    var dl = el("dl", { class: "kv", id: "detail-figures" });
    rows.forEach(function (row) {
      dl.appendChild(el("dt", null, row[0]));
      dl.appendChild(el("dd", null, row[1]));
    });
    append(body, [
      el("div", null, [
        el("span", { class: "figure-big", id: "detail-figure" }, pct(unit.figure)),
        " ",
        badge(unit),
      ]),
      el("div", { class: "note" }, info.figure_label + " · " + info.name),
      bar(unit.figure, unit.target, unit),
      dl,
    ]);
    if (unit.flags && unit.flags.length) {
      body.appendChild(el("p", { class: "note" }, "说明：" + unit.flags.map(flagText).join("；")));
    }
    var block = $("townships-block");
    var tbody = $("township-table").querySelector("tbody");
    clear(tbody);
    block.hidden = !townships;
    (townships || []).forEach(function (t) {
      tbody.appendChild(
        el("tr", null, [
          el("td", { class: "text" }, t.name),
          el("td", { class: "progress" }, [pct(t.figure), bar(t.figure, t.target, t)]),
          el("td", null, pct(t.target)),
          el("td", null, num(t.villages_total)),
          el("td", null, num(t.points_in_service)),
          el("td", null, t.centres_standardized ? "已达标" : t.centres_in_service ? "运行" : "—"),
          el("td", null, badge(t)),
        ])
      );
    });
  }

  function flagText(flag) {
    return { no_villages: "该日无村(社区)，覆盖率为空", no_townships: "该日无乡镇(街道)，标准化率为空" }[flag] || flag;
  }

  // ------------------------------------------------------------------ county table

  var COLUMNS = [
    { key: "name", label: "县市区", text: true },
    { key: "figure", label: "进度", progress: true },
    { key: "target", label: "目标", share: true },
    { key: "status", label: "状态", status: true },
    { key: "villages_total", label: "村(社区)" },
    { key: "points_built", label: "已建成代办点" },
    { key: "points_in_service", label: "运行代办点" },
    { key: "points_active", label: "活跃代办点" },
    { key: "agency_coverage", label: "覆盖率", share: true },
    { key: "townships_total", label: "乡镇(街道)" },
    { key: "centres_in_service", label: "运行中心" },
    { key: "centres_standardized", label: "达标中心" },
    { key: "standardization", label: "标准化率", share: true },
    { key: "projected_completion", label: "预计完成", text: true },
  ];

  function sortValue(unit, key) {
    if (key === "status") {
      var v = verdict(unit).cls;
      return { done: 3, good: 2, bad: 1, none: 0 }[v];
    }
    return unit[key];
  }

  function compare(a, b, key, dir) {
    var x = sortValue(a, key),
      y = sortValue(b, key);
    if (x === y) return a.code < b.code ? -1 : 1;
    if (x === null || x === undefined) return 1; // nulls last whatever the direction
    if (y === null || y === undefined) return -1;
    if (typeof x === "string") return dir * x.localeCompare(y, "zh-CN");
    return dir * (x < y ? -1 : 1);
  }

  function renderTable() {
    var table = $("county-table");
    var head = table.querySelector("thead tr");
    clear(head);
    COLUMNS.forEach(function (column) {
      var th = el("th", { scope: "col", "data-key": column.key });
      if (state.sort.key === column.key) th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
      var button = el("button", { type: "button" }, column.label);
      button.addEventListener("click", function () {
        if (state.sort.key === column.key) state.sort.dir = -state.sort.dir;
        else state.sort = { key: column.key, dir: column.text ? 1 : -1 };
        renderTable();
      });
      th.appendChild(button);
      head.appendChild(th);
    });
    var tbody = table.querySelector("tbody");
    clear(tbody);
    var rows = state.coverage.counties.slice().sort(function (a, b) {
      return compare(a, b, state.sort.key, state.sort.dir);
    });
    rows.forEach(function (unit) {
      var tr = row(unit, true);
      tr.addEventListener("click", function () {
        selectCounty(unit.code);
      });
      tbody.appendChild(tr);
    });
    var tfoot = table.querySelector("tfoot");
    clear(tfoot);
    tfoot.appendChild(row(state.coverage.total, false));
  }

  function row(unit, clickable) {
    var tr = el("tr", {
      class: (clickable ? "clickable" : "") + (state.county === unit.code ? " selected" : ""),
      "data-code": unit.code,
    });
    COLUMNS.forEach(function (column) {
      var value = unit[column.key];
      var td;
      if (column.progress) td = el("td", { class: "progress" }, [pct(value), bar(value, unit.target, unit)]);
      else if (column.status) td = el("td", null, badge(unit));
      else if (column.share) td = el("td", null, pct(value));
      else if (column.text) td = el("td", { class: "text" }, value || "—");
      else td = el("td", null, num(value));
      tr.appendChild(td);
    });
    return tr;
  }

  // ------------------------------------------------------------------ chart

  function dayNumber(iso) {
    return Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10))) / 86400000;
  }

  function renderChart(series) {
    var chart = $("chart");
    clear(chart);
    var info = series.campaign_info;
    $("chart-title").textContent = "月度进展 · " + series.county_name + " · " + info.figure_label;
    var W = 640,
      H = 280,
      left = 44,
      right = 16,
      top = 24,
      bottom = 34;
    var points = series.points;
    if (!points.length) return;
    // Time axis from the campaign start to the last point (dates, not indexes: the point of
    // the as_of month sits on as_of).
    var t0 = dayNumber(info.start_on);
    var t1 = Math.max(dayNumber(points[points.length - 1].day), t0 + 1);
    var x = function (iso) {
      return left + ((dayNumber(iso) - t0) / (t1 - t0)) * (W - left - right);
    };
    var y = function (v) {
      return top + (1 - v) * (H - top - bottom);
    };
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      chart.appendChild(svg("line", { class: "grid-line", x1: left, x2: W - right, y1: y(v), y2: y(v) }));
      chart.appendChild(svg("text", { class: "tick", x: left - 6, y: y(v) + 3, "text-anchor": "end" }, v * 100 + "%"));
    });
    chart.appendChild(svg("line", { class: "axis", x1: left, x2: W - right, y1: y(0), y2: y(0) }));
    var years = (t1 - t0) / 365;
    var every = years > 5 ? 12 : years > 2 ? 6 : 3;
    var startYear = Number(info.start_on.slice(0, 4));
    var endYear = Number(points[points.length - 1].day.slice(0, 4));
    for (var yr = startYear; yr <= endYear + 1; yr++) {
      for (var m = 1; m <= 12; m += every) {
        var iso = yr + "-" + (m < 10 ? "0" : "") + m + "-01";
        var d = dayNumber(iso);
        if (d < t0 || d > t1) continue;
        var tx = x(iso);
        chart.appendChild(svg("line", { class: "axis", x1: tx, x2: tx, y1: y(0), y2: y(0) + 4 }));
        chart.appendChild(
          svg("text", { class: "tick", x: tx, y: y(0) + 16, "text-anchor": tx > W - right - 20 ? "end" : "middle" },
            every === 12 ? String(yr) : iso.slice(0, 7))
        );
      }
    }
    if (dayNumber(info.deadline) <= t1) {
      var dx = x(info.deadline);
      chart.appendChild(svg("line", { class: "deadline", x1: dx, x2: dx, y1: top, y2: y(0) }));
      var nearEnd = dx > W - right - 90;
      chart.appendChild(
        svg("text", { class: "tick", x: nearEnd ? dx - 4 : dx + 4, y: top + 10, "text-anchor": nearEnd ? "end" : "start" },
          "截止 " + info.deadline)
      );
    }
    var target = [];
    var actual = [];
    var last = null;
    points.forEach(function (p) {
      target.push((target.length ? "L" : "M") + x(p.day).toFixed(1) + "," + y(p.target).toFixed(1));
      if (p.figure === null) return;
      actual.push((actual.length ? "L" : "M") + x(p.day).toFixed(1) + "," + y(p.figure).toFixed(1));
      last = p;
    });
    chart.appendChild(svg("path", { class: "target-line", d: target.join("") }));
    chart.appendChild(svg("path", { class: "actual", d: actual.join("") }));
    points.forEach(function (p) {
      if (p.figure === null) return;
      chart.appendChild(
        svg("circle", { class: "point", cx: x(p.day).toFixed(1), cy: y(p.figure).toFixed(1), r: points.length > 60 ? 1.6 : 2.5 },
          svg("title", null, p.month + "：" + pct(p.figure) + "，目标 " + pct(p.target)))
      );
    });
    if (last) {
      chart.appendChild(svg("line", { class: "as-of", x1: x(last.day), x2: x(last.day), y1: top, y2: y(0) }));
    }
    chart.appendChild(svg("line", { class: "actual", x1: left + 8, x2: left + 30, y1: 10, y2: 10 }));
    chart.appendChild(svg("text", { class: "legend-text", x: left + 34, y: 14 }, "实际"));
    chart.appendChild(svg("line", { class: "target-line", x1: left + 74, x2: left + 96, y1: 10, y2: 10 }));
    chart.appendChild(
      svg("text", { class: "legend-text", x: left + 100, y: 14 }, "目标（" + (series.target_source === "plan" ? "已批准规划" : "线性") + "）")
    );
    $("chart-note").textContent =
      "每月取月末数值（所选日期所在月取所选日期），竖实线为所选日期。" +
      (series.projected_completion
        ? "按最近六个月的趋势，预计 " + series.projected_completion + " 达到 100%。"
        : "最近六个月趋势持平或下降，无法预计完成日期。");
  }

  // ------------------------------------------------------------------ behind-target list

  function renderBehind() {
    var box = $("behind");
    clear(box);
    var counties = state.coverage.counties
      .filter(function (u) {
        return u.on_track === false;
      })
      .sort(function (a, b) {
        return b.target - b.figure - (a.target - a.figure);
      });
    var townships = state.townships
      .filter(function (u) {
        return u.on_track === false;
      })
      .sort(function (a, b) {
        return b.target - b.figure - (a.target - a.figure);
      });
    box.appendChild(el("h3", null, "县市区（" + counties.length + "）"));
    if (!counties.length) box.appendChild(el("p", { class: "note" }, "所有县市区均达到目标进度。"));
    var list = el("ul", { class: "behind-list", id: "behind-counties" });
    counties.forEach(function (u) {
      var name = el("button", { type: "button", class: "link" }, u.name);
      name.addEventListener("click", function () {
        selectCounty(u.code);
      });
      list.appendChild(
        el("li", null, [
          name,
          el("span", { class: "gap" }, "差 " + ((u.target - u.figure) * 100).toFixed(1) + " 个百分点"),
          el("span", { class: "meta" }, pct(u.figure) + " / 目标 " + pct(u.target) + (u.projected_completion ? "，预计 " + u.projected_completion : "，趋势停滞")),
        ])
      );
    });
    box.appendChild(list);
    var shown = state.county
      ? townships.filter(function (t) {
          return t.county_code === state.county;
        })
      : townships;
    box.appendChild(el("h3", null, "乡镇(街道)（" + shown.length + "）" + (state.county ? " · " + (unitByCode(state.county) || {}).name : "")));
    var tlist = el("ul", { class: "behind-list", id: "behind-townships" });
    shown.slice(0, 40).forEach(function (t) {
      tlist.appendChild(
        el("li", null, [
          el("span", null, t.county_name + " · " + t.name),
          el("span", { class: "gap" }, "差 " + ((t.target - t.figure) * 100).toFixed(1) + " 个百分点"),
          el("span", { class: "meta" }, pct(t.figure) + " / 目标 " + pct(t.target)),
        ])
      );
    });
    box.appendChild(tlist);
    if (shown.length > 40) box.appendChild(el("p", { class: "note" }, "另有 " + (shown.length - 40) + " 个乡镇(街道)落后，选择县市区查看。"));
  }

  // ------------------------------------------------------------------ signage

  function loadSignage() {
    var params = { signage_conforms: "false", limit: 200, county: state.county };
    return api("/api/sites", params).then(function (body) {
      var tbody = $("signage-table").querySelector("tbody");
      clear(tbody);
      body.items.forEach(function (site) {
        var problems = (site.signage_problems || [])
          .map(function (p) {
            return p.message;
          })
          .join("；");
        var county = unitByCode(site.county_code);
        tbody.appendChild(
          el("tr", null, [
            el("td", { class: "text" }, site.standard_name),
            el("td", { class: "text" }, site.signage_name || "（未报）"),
            el("td", { class: "text" }, problems || "—"),
            el("td", { class: "text" }, county ? county.name : site.county_code),
          ])
        );
      });
      $("signage-note").textContent =
        "共 " + body.total + " 个" + (body.total > body.items.length ? "，显示前 " + body.items.length + " 个" : "") + "。";
    });
  }

  // ------------------------------------------------------------------ loading

  function loadAll() {
    var id = ++state.loadId;
    var base = common();
    setStatus("正在加载 " + state.asOf + " 的数据…");
    $("svg-link").setAttribute("href", "/api/maps/coverage.svg" + query(base));
    $("geojson-link").setAttribute("href", "/api/coverage.geojson" + query(base));
    return Promise.all([
      api("/api/coverage", base),
      api("/api/coverage.geojson", Object.assign({ sites: "false" }, base)),
      api("/api/coverage/townships", base),
    ])
      .then(function (results) {
        if (id !== state.loadId) return null;
        state.coverage = results[0];
        state.geo = results[1];
        state.townships = results[2].items;
        renderMap();
        renderTable();
        renderBehind();
        return Promise.all([loadFocus(id), loadSignage()]);
      })
      .then(function () {
        if (id !== state.loadId) return;
        writeHash();
        setStatus("数据截至 " + state.asOf + " · " + state.campaign.name + "（" + state.campaign.start_on + " 至 " + state.campaign.deadline + "）");
      })
      .catch(function (error) {
        setStatus("加载失败：" + error.message, true);
      });
  }

  function loadFocus(id) {
    var base = common();
    var jobs = [api("/api/coverage/timeseries", Object.assign({ county: state.county }, base))];
    if (state.county) {
      jobs.push(api("/api/coverage", Object.assign({ county: state.county }, base)));
      jobs.push(api("/api/coverage.geojson", Object.assign({ county: state.county, sites: "true" }, base)));
    }
    return Promise.all(jobs).then(function (results) {
      if (id !== state.loadId) return;
      renderChart(results[0]);
      if (state.county) {
        var drill = results[1];
        renderDetail(drill.counties[0], drill.townships);
        renderPoints(results[2]);
      } else {
        renderDetail(state.coverage.total, null);
        renderPoints(null);
      }
      renderLegend();
    });
  }

  function selectCounty(code) {
    state.county = code;
    document.querySelectorAll("#map .county").forEach(function (node) {
      var mine = node.getAttribute("data-code") === code;
      node.classList.toggle("selected", mine);
      node.classList.toggle("dimmed", Boolean(code) && !mine);
    });
    document.querySelectorAll("#county-table tbody tr").forEach(function (node) {
      node.classList.toggle("selected", node.getAttribute("data-code") === code);
    });
    var id = ++state.loadId;
    setStatus("正在加载…");
    renderBehind();
    return Promise.all([loadFocus(id), loadSignage()])
      .then(function () {
        if (id !== state.loadId) return;
        writeHash();
        var unit = code ? unitByCode(code) : state.coverage.total;
        setStatus("已选择 " + unit.name + " · 数据截至 " + state.asOf);
      })
      .catch(function (error) {
        setStatus("加载失败：" + error.message, true);
      });
  }

  // ------------------------------------------------------------------ account

  function renderAccount() {
    var who = null;
    try {
      who = JSON.parse(window.sessionStorage.getItem(TOKEN_KEY + ".who") || "null");
    } catch (e) {
      who = null;
    }
    var signedIn = Boolean(token() && who);
    var canReport = signedIn && (who.role === "municipal" || who.role === "county_planner");
    $("account-name").textContent = signedIn ? who.username + "（" + (ROLE[who.role] || who.role) + "）" : "";
    $("report-xlsx").hidden = !canReport;
    $("report-csv").hidden = !canReport;
    $("sign-out").hidden = !signedIn;
    // The signed-in role's work page (the pages under /login, /agent, /planner, /municipal).
    $("work-link").hidden = !signedIn;
    if (signedIn) $("work-link").setAttribute("href", WORK_PAGE[who.role] || "/login");
    $("sign-in-toggle").hidden = signedIn;
    if (signedIn) $("sign-in").hidden = true;
  }

  function download(path, fallbackName) {
    setStatus("正在生成报表…");
    api(path, common(), { auth: true, raw: true })
      .then(function (response) {
        var disposition = response.headers.get("content-disposition") || "";
        var match = /filename="([^"]+)"/.exec(disposition);
        return response.blob().then(function (blob) {
          var url = URL.createObjectURL(blob);
          var a = el("a", { href: url, download: match ? match[1] : fallbackName });
          document.body.appendChild(a);
          a.click();
          document.body.removeChild(a);
          setTimeout(function () {
            URL.revokeObjectURL(url);
          }, 1000);
          setStatus("报表已下载（截至 " + state.asOf + "）");
        });
      })
      .catch(function (error) {
        setStatus("报表下载失败：" + error.message, true);
      });
  }

  function wireAccount() {
    $("sign-in-toggle").addEventListener("click", function () {
      $("sign-in").hidden = !$("sign-in").hidden;
      if (!$("sign-in").hidden) $("username").focus();
    });
    $("sign-in").addEventListener("submit", function (event) {
      event.preventDefault();
      $("sign-in-error").textContent = "";
      api("/api/auth/token", null, {
        method: "POST",
        body: { username: $("username").value, password: $("password").value },
      })
        .then(function (body) {
          window.sessionStorage.setItem(TOKEN_KEY, body.access_token);
          window.sessionStorage.setItem(
            TOKEN_KEY + ".who",
            JSON.stringify({ username: $("username").value, role: body.role, scope: body.scope })
          );
          $("password").value = "";
          renderAccount();
        })
        .catch(function (error) {
          $("sign-in-error").textContent = error.message;
        });
    });
    $("sign-out").addEventListener("click", function () {
      window.sessionStorage.removeItem(TOKEN_KEY);
      window.sessionStorage.removeItem(TOKEN_KEY + ".who");
      renderAccount();
    });
    $("report-xlsx").addEventListener("click", function () {
      download("/api/reports/coverage.xlsx", "coverage.xlsx");
    });
    $("report-csv").addEventListener("click", function () {
      download("/api/reports/coverage.csv", "coverage.csv");
    });
    renderAccount();
  }

  // ------------------------------------------------------------------ start

  function setCampaign(code) {
    var found = state.campaigns.filter(function (c) {
      return c.code === code;
    })[0];
    state.campaign = found || state.campaigns[0];
    $("campaign").value = state.campaign.code;
    var input = $("as-of");
    input.min = state.campaign.start_on;
    input.max = state.today;
    if (!state.asOf || state.asOf < input.min || state.asOf > input.max) state.asOf = state.today;
    input.value = state.asOf;
  }

  function start() {
    wireAccount();
    Promise.all([api("/api/coverage/campaigns"), api("/api/coverage", { campaign: null })])
      .then(function (results) {
        state.campaigns = results[0].items;
        state.today = results[1].as_of; // the server's today (Asia/Shanghai)
        var campaignSelect = $("campaign");
        state.campaigns.forEach(function (c) {
          campaignSelect.appendChild(el("option", { value: c.code }, c.name + "（" + c.figure_label + "）"));
        });
        var hash = readHash();
        state.asOf = /^\d{4}-\d{2}-\d{2}$/.test(hash.as_of || "") ? hash.as_of : null;
        state.county = /^\d{12}$/.test(hash.county || "") ? hash.county : null;
        setCampaign(hash.campaign);
        campaignSelect.addEventListener("change", function () {
          setCampaign(campaignSelect.value);
          loadAll();
        });
        $("as-of").addEventListener("change", function () {
          var value = $("as-of").value;
          if (!value || value < $("as-of").min || value > $("as-of").max) {
            setStatus("请选择 " + $("as-of").min + " 至 " + $("as-of").max + " 之间的日期", true);
            return;
          }
          state.asOf = value;
          loadAll();
        });
        $("today").addEventListener("click", function () {
          state.asOf = state.today;
          $("as-of").value = state.today;
          loadAll();
        });
        $("back-to-city").addEventListener("click", function () {
          selectCounty(null);
        });
        $("show-points").addEventListener("change", function () {
          if (state.county) selectCounty(state.county);
          else renderLegend();
        });
        return loadAll();
      })
      .catch(function (error) {
        setStatus("加载失败：" + error.message, true);
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
