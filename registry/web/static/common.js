/* Shared code of the work pages (/login, /agent, /planner, /municipal).
 *
 * Plain JavaScript (ES2017), served by the registry itself. Data reaches the page only through
 * textContent and attributes (el/svg below), never innerHTML. The sign-in token lives where the
 * public dashboard keeps it: sessionStorage["registry.token"] (and ".who" for the account).
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const TOKEN_KEY = "registry.token";
  const WHO_KEY = TOKEN_KEY + ".who";
  const TZ = "Asia/Shanghai";

  const HOME = { municipal: "/municipal", county_planner: "/planner", village_agent: "/agent" };
  const ROLE = { municipal: "市政务服务中心", county_planner: "县级规划员", village_agent: "村代办员" };
  const SITE_STATUS = {
    planned: ["规划中", "#9e9e9e"],
    under_construction: ["在建", "#f08c2e"],
    built: ["已建成", "#4f9bd4"],
    in_service: ["已运行", "#1d5fa8"],
    standardized: ["已达标", "#0b2f63"],
    suspended: ["暂停", "#d0431f"],
    closed: ["已撤销", "#555555"],
  };
  const KIND = {
    township_centre: "乡镇便民服务中心",
    street_centre: "街道便民服务中心",
    village_point: "村代办点",
    community_point: "社区代办点",
  };
  const CASE_STATE = {
    received: "已受理",
    forwarded: "已转办",
    completed: "已办结",
    returned: "已退回",
    delivered: "已回复",
  };
  const RATING = {
    very_satisfied: "非常满意",
    satisfied: "满意",
    basically_satisfied: "基本满意",
    dissatisfied: "不满意",
    very_dissatisfied: "非常不满意",
  };
  const PLAN_STATE = {
    none: "未编制",
    draft: "草稿",
    submitted: "待审核",
    approved: "已批准",
    returned: "已退回",
  };
  const TARGET = { built: "建成", in_service: "投入运行", standardized: "标准化达标" };
  const CRS = { wgs84: "WGS-84（GPS）", gcj02: "GCJ-02（高德/腾讯）", bd09: "BD-09（百度）", cgcs2000: "CGCS2000" };

  // ---------------------------------------------------------------- DOM

  function $(id) {
    return document.getElementById(id);
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (key) {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (/^on/i.test(key)) throw new Error("event attributes are not allowed");
      node.setAttribute(key, value === true ? "" : String(value));
    });
  }

  function append(node, children) {
    if (children === null || children === undefined) return node;
    if (!Array.isArray(children)) children = [children];
    children.forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    return append(node, children);
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    return append(node, children);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function say(node, text, kind) {
    if (typeof node === "string") node = $(node);
    if (!node) return;
    node.textContent = text || "";
    node.className = (node.className || "").replace(/\b(ok|bad|warn|busy)\b/g, "").trim();
    if (kind) node.classList.add(kind);
  }

  function options(select, pairs, placeholder) {
    clear(select);
    if (placeholder !== undefined) select.appendChild(el("option", { value: "" }, placeholder));
    pairs.forEach(function (p) {
      select.appendChild(el("option", { value: p[0], disabled: p[2] || false }, p[1]));
    });
  }

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      const args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () {
        fn.apply(null, args);
      }, ms);
    };
  }

  // Tabs: buttons [role=tab][aria-controls] switch panels; the hash remembers the tab.
  function tabs(container, onShow) {
    const buttons = Array.prototype.slice.call(container.querySelectorAll("[role=tab]"));
    function show(id, fromHash) {
      let found = false;
      buttons.forEach(function (b) {
        const mine = b.getAttribute("aria-controls") === id;
        found = found || mine;
        b.setAttribute("aria-selected", mine ? "true" : "false");
        b.tabIndex = mine ? 0 : -1;
        const panel = $(b.getAttribute("aria-controls"));
        if (panel) panel.classList.toggle("inactive", !mine);
      });
      if (!found) return show(buttons[0].getAttribute("aria-controls"), fromHash);
      if (!fromHash) window.history.replaceState(null, "", "#" + id);
      if (onShow) onShow(id);
    }
    buttons.forEach(function (b, i) {
      b.addEventListener("click", function () {
        show(b.getAttribute("aria-controls"));
      });
      b.addEventListener("keydown", function (event) {
        const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        const next = buttons[(i + step + buttons.length) % buttons.length];
        next.focus();
        show(next.getAttribute("aria-controls"));
      });
    });
    show(window.location.hash.replace(/^#/, "") || buttons[0].getAttribute("aria-controls"), true);
    return show;
  }

  // ---------------------------------------------------------------- session

  function token() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  function who() {
    try {
      return JSON.parse(window.sessionStorage.getItem(WHO_KEY) || "null");
    } catch (e) {
      return null;
    }
  }

  function saveSession(body, username) {
    window.sessionStorage.setItem(TOKEN_KEY, body.access_token);
    window.sessionStorage.setItem(
      WHO_KEY,
      JSON.stringify({
        username: body.username || username,
        role: body.role,
        scope: body.scope,
        display_name: body.display_name || "",
      })
    );
  }

  function signOut() {
    window.sessionStorage.removeItem(TOKEN_KEY);
    window.sessionStorage.removeItem(WHO_KEY);
  }

  function toLogin() {
    const next = window.location.pathname + window.location.hash;
    window.location.assign("/login?next=" + encodeURIComponent(next));
  }

  // ---------------------------------------------------------------- HTTP

  function query(params) {
    const parts = [];
    Object.keys(params || {}).forEach(function (key) {
      const value = params[key];
      if (value === null || value === undefined || value === "") return;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    return parts.length ? "?" + parts.join("&") : "";
  }

  class ApiError extends Error {
    constructor(message, status, body, offline) {
      super(message);
      this.status = status;
      this.body = body || {};
      this.code = this.body.code || (offline ? "offline" : null);
      this.offline = Boolean(offline);
    }
  }

  /* fetch JSON. opts: params, method, json (a body to send as JSON), body + type (raw body),
   * auth (default true: send the token; a 401 goes back to /login unless keep401), raw (return
   * the Response), timeout (ms), cached (the service worker may answer offline). Network
   * failures reject with ApiError(offline=true). */
  async function api(path, opts) {
    opts = opts || {};
    const headers = { Accept: "application/json" };
    const auth = opts.auth !== false;
    if (auth && token()) headers.Authorization = "Bearer " + token();
    let body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers["Content-Type"] = opts.type || "application/octet-stream";
      body = opts.body;
    }
    // Known to be offline: fail at once (no doomed request, no console noise), unless the
    // service worker may answer from its cache (opts.cached).
    if (navigator.onLine === false && !opts.cached) {
      throw new ApiError("无法连接服务器（离线）", 0, null, true);
    }
    const controller = opts.timeout ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), opts.timeout) : null;
    let response;
    try {
      response = await fetch(path + query(opts.params), {
        method: opts.method || (body !== undefined ? "POST" : "GET"),
        headers: headers,
        body: body,
        credentials: "same-origin",
        cache: "no-store",
        signal: controller ? controller.signal : undefined,
      });
    } catch (e) {
      throw new ApiError("无法连接服务器（离线或网络中断）", 0, null, true);
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (opts.raw && response.ok) return response;
    const type = response.headers.get("content-type") || "";
    let parsed = null;
    try {
      parsed = type.indexOf("json") >= 0 ? await response.json() : await response.text();
    } catch (e) {
      if (response.ok) throw new ApiError("无法连接服务器（响应中断）", 0, null, true);
    }
    if (!response.ok) {
      if (response.status === 401 && auth && !opts.keep401) {
        signOut();
        toLogin();
      }
      const detail = parsed && typeof parsed === "object" && parsed.detail;
      const zh = detail ? String(detail).split(" / ")[0] : "请求失败（" + response.status + "）";
      throw new ApiError(zh, response.status, typeof parsed === "object" ? parsed : null, false);
    }
    return parsed;
  }

  // Field errors of an error body as "field：message" lines (Chinese half only).
  function errorLines(error) {
    const list = (error && error.body && error.body.errors) || [];
    return list.map(function (e) {
      const where = e.row ? "第 " + e.row + " 行" + (e.column ? " " + e.column + " 列" : "") : e.field || "";
      const message = String(e.message || "").split(" / ")[0];
      return where ? where + "：" + message : message;
    });
  }

  async function download(path, params, fallbackName) {
    const response = await api(path, { params: params, raw: true });
    const disposition = response.headers.get("content-disposition") || "";
    const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
    const plain = /filename="([^"]+)"/.exec(disposition);
    const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : fallbackName;
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 2000);
    return name;
  }

  // ---------------------------------------------------------------- time (China time)

  const PARTS = new Intl.DateTimeFormat("en-CA", {
    timeZone: TZ,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });

  function chinaParts(date) {
    const out = {};
    PARTS.formatToParts(date).forEach(function (p) {
      out[p.type] = p.value;
    });
    return out;
  }

  function chinaDate(value) {
    const p = chinaParts(value ? new Date(value) : new Date());
    return p.year + "-" + p.month + "-" + p.day;
  }

  function chinaDateTime(value) {
    if (!value) return "—";
    const p = chinaParts(new Date(value));
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  // "YYYY-MM-DDTHH:MM" of now in China time (for <input type=datetime-local>).
  function chinaLocalNow() {
    const p = chinaParts(new Date());
    return p.year + "-" + p.month + "-" + p.day + "T" + p.hour + ":" + p.minute;
  }

  // An <input type=datetime-local> value read as China time, as ISO 8601 with its offset.
  function chinaLocalToIso(value) {
    return value.length === 16 ? value + ":00+08:00" : value + "+08:00";
  }

  function daysBetween(a, b) {
    return Math.round((Date.parse(b + "T00:00:00Z") - Date.parse(a + "T00:00:00Z")) / 86400000);
  }

  // ---------------------------------------------------------------- page chrome

  function goHome(role) {
    window.location.assign(HOME[role] || "/");
  }

  function showAccount(me) {
    const name = $("account-name");
    const session = who();
    const display = me.display_name || (session && session.username === me.username ? session.display_name : "");
    if (name) name.textContent = (display || me.username) + "（" + (ROLE[me.role] || me.role) + "）";
    const out = $("sign-out");
    if (out) {
      out.hidden = false;
      out.addEventListener("click", function () {
        signOut();
        window.location.assign("/login");
      });
    }
  }

  /* The signed-in account, checked with the server; no token → /login; another role → a note
   * with a link to that role's page (the promise then never resolves). */
  async function requireRole(role) {
    if (!token()) {
      toLogin();
      return new Promise(function () {});
    }
    const me = await api("/api/auth/me");
    if (me.role !== role) {
      const main = document.querySelector("main");
      clear(main);
      main.appendChild(
        el("section", { class: "card" }, [
          el("h2", null, "此页面供" + (ROLE[role] || role) + "使用"),
          el("p", null, [
            "当前账号 " + me.username + "（" + (ROLE[me.role] || me.role) + "）。",
            el("a", { href: HOME[me.role] || "/" }, "前往我的工作台"),
          ]),
        ])
      );
      showAccount(me);
      return new Promise(function () {});
    }
    showAccount(me);
    return me;
  }

  // ---------------------------------------------------------------- maps (no tiles)
  /* Geometry is drawn in user units (lon·k, −lat), k = cos(mid latitude): north up, locally
   * equal-area enough for a county, and a click converts back with the SVG's own matrix. */

  function eachRing(geometry, fn) {
    if (!geometry) return;
    const polys =
      geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    polys.forEach(function (rings) {
      rings.forEach(fn);
    });
  }

  function geoView(node, geometry, pad) {
    let minLon = Infinity,
      minLat = Infinity,
      maxLon = -Infinity,
      maxLat = -Infinity;
    eachRing(geometry, function (ring) {
      ring.forEach(function (p) {
        minLon = Math.min(minLon, p[0]);
        maxLon = Math.max(maxLon, p[0]);
        minLat = Math.min(minLat, p[1]);
        maxLat = Math.max(maxLat, p[1]);
      });
    });
    const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
    const margin = (pad || 0.03) * Math.max((maxLon - minLon) * k, maxLat - minLat);
    const box = [minLon * k - margin, -maxLat - margin, (maxLon - minLon) * k + 2 * margin, maxLat - minLat + 2 * margin];
    node.setAttribute("viewBox", box.map((v) => v.toFixed(6)).join(" "));
    node.setAttribute("preserveAspectRatio", "xMidYMid meet");
    node.setAttribute("data-k", k.toFixed(8));
    const view = {
      k: k,
      box: box,
      point: function (lon, lat) {
        return [lon * k, -lat];
      },
      path: function (geom) {
        const parts = [];
        eachRing(geom, function (ring) {
          parts.push(
            "M" +
              ring
                .map(function (p) {
                  return (p[0] * k).toFixed(5) + "," + (-p[1]).toFixed(5);
                })
                .join("L") +
              "Z"
          );
        });
        return parts.join("");
      },
      // lon/lat of a mouse event on the map
      lonLat: function (event) {
        const pt = node.createSVGPoint();
        pt.x = event.clientX;
        pt.y = event.clientY;
        const q = pt.matrixTransform(node.getScreenCTM().inverse());
        return [q.x / k, -q.y];
      },
      // user units per CSS pixel (for radii that look the same at any size)
      unitsPerPixel: function () {
        const width = node.getBoundingClientRect().width || 600;
        return Math.max(box[2] / width, box[3] / ((node.getBoundingClientRect().height || 600)));
      },
    };
    return view;
  }

  // GCJ-02 / BD-09 → WGS-84 (for the preview marker only; the server converts for real).
  const A = 6378245.0;
  const EE = 0.00669342162296594323;
  const X_PI = (Math.PI * 3000.0) / 180.0;

  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  function gcjDelta(lon, lat) {
    const x = lon - 105.0;
    const y = lat - 35.0;
    const common = ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
    const s = Math.sqrt(Math.abs(x));
    let dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * s + common;
    dlat += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
    dlat += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
    let dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * s + common;
    dlon += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
    dlon += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
    const rad = (lat / 180) * Math.PI;
    const magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
    const sq = Math.sqrt(magic);
    return [(dlon * 180) / ((A / sq) * Math.cos(rad) * Math.PI), (dlat * 180) / (((A * (1 - EE)) / (magic * sq)) * Math.PI)];
  }

  function gcjToWgs(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    let x = lon,
      y = lat;
    for (let i = 0; i < 30; i++) {
      const d = gcjDelta(x, y);
      const ex = lon - (x + d[0]);
      const ey = lat - (y + d[1]);
      x += ex;
      y += ey;
      if (Math.abs(ex) < 1e-11 && Math.abs(ey) < 1e-11) break;
    }
    return [x, y];
  }

  function bdToGcj(lon, lat) {
    const x = lon - 0.0065;
    const y = lat - 0.006;
    const z = Math.sqrt(x * x + y * y) - 0.00002 * Math.sin(y * X_PI);
    const t = Math.atan2(y, x) - 0.000003 * Math.cos(x * X_PI);
    return [z * Math.cos(t), z * Math.sin(t)];
  }

  function toWgs84(lon, lat, crs) {
    if (crs === "gcj02") return gcjToWgs(lon, lat);
    if (crs === "bd09") {
      if (outOfChina(lon, lat)) return [lon, lat];
      const g = bdToGcj(lon, lat);
      return gcjToWgs(g[0], g[1]);
    }
    return [lon, lat];
  }

  // ---------------------------------------------------------------- resident ID (GB 11643)
  // Same rules as registry/domain/resident_id.py: format, province, birth date, ISO 7064 MOD 11-2.
  const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const CHECK = "10X98765432";
  const PROVINCES = "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split(" ");

  function normaliseId(raw) {
    return String(raw || "")
      .normalize("NFKC")
      .replace(/\s+/g, "")
      .toUpperCase();
  }

  function idCheckChar(first17) {
    let sum = 0;
    for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i];
    return CHECK[sum % 11];
  }

  // Problems of an identity number (Chinese messages); [] when valid.
  function idProblems(raw, today) {
    const n = normaliseId(raw);
    if (!/^[0-9]{17}[0-9X]$/.test(n)) return ["应为 17 位数字加 1 位数字或 X，共 18 位"];
    const found = [];
    if (PROVINCES.indexOf(n.slice(0, 2)) < 0) found.push("前两位不是已知的省级行政区划代码");
    const y = Number(n.slice(6, 10)),
      m = Number(n.slice(10, 12)),
      d = Number(n.slice(12, 14));
    const birth = new Date(Date.UTC(y, m - 1, d));
    const real = birth.getUTCFullYear() === y && birth.getUTCMonth() === m - 1 && birth.getUTCDate() === d;
    const iso = n.slice(6, 10) + "-" + n.slice(10, 12) + "-" + n.slice(12, 14);
    if (!real || y < 1890) found.push("第 7–14 位不是有效的出生日期");
    else if (iso > (today || chinaDate())) found.push("出生日期晚于今天");
    if (idCheckChar(n.slice(0, 17)) !== n[17]) found.push("校验码不符（ISO 7064 MOD 11-2）");
    return found;
  }

  window.Registry = {
    HOME: HOME,
    ROLE: ROLE,
    SITE_STATUS: SITE_STATUS,
    KIND: KIND,
    CASE_STATE: CASE_STATE,
    RATING: RATING,
    PLAN_STATE: PLAN_STATE,
    TARGET: TARGET,
    CRS: CRS,
    $: $,
    el: el,
    svg: svg,
    clear: clear,
    say: say,
    options: options,
    debounce: debounce,
    tabs: tabs,
    token: token,
    who: who,
    saveSession: saveSession,
    signOut: signOut,
    toLogin: toLogin,
    goHome: goHome,
    showAccount: showAccount,
    requireRole: requireRole,
    query: query,
    api: api,
    ApiError: ApiError,
    errorLines: errorLines,
    download: download,
    chinaDate: chinaDate,
    chinaDateTime: chinaDateTime,
    chinaLocalNow: chinaLocalNow,
    chinaLocalToIso: chinaLocalToIso,
    daysBetween: daysBetween,
    geoView: geoView,
    toWgs84: toWgs84,
    normaliseId: normaliseId,
    idCheckChar: idCheckChar,
    idProblems: idProblems,
  };
})();
