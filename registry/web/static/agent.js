/* 代办员工作台 — the village agent's page, offline first.
 *
 * New cases and edits are written to IndexedDB first (client UUIDs), then sent: new cases in
 * batches through POST /api/cases/sync, edits of cases the server already holds through
 * PATCH /api/cases/{id} at the version they were based on (the device keeps no resident data
 * once the server has acknowledged a case, and a sync record must carry it in full). Results
 * are shown per record; a conflict shows both copies side by side for the agent to choose.
 * A service worker (/agent-sw.js) keeps the page and the matter catalogue for offline use.
 */
import {
  $, api, CASE_STATE, chinaDate, chinaDateTime, chinaLocalNow, chinaLocalToIso, clear, daysBetween,
  debounce, el, idProblems, normaliseId, options, RATING, requireRole, say, showAccount, svg, tabs,
  token, toLogin, who,
} from "/static/common.js";

const PROFILE_KEY = "registry.agent.profile";
const RETRY_MS = [3000, 10000, 30000, 60000];
const BATCH = 500;
const LOG_KEEP = 30;
const STATE_BADGE = { received: "info", forwarded: "info", completed: "good", returned: "warn", delivered: "good" };
const RESULT = {
  created: ["已创建", "good"],
  updated: ["已更新", "good"],
  unchanged: ["服务器已有（未重复创建）", "good"],
  conflict: ["冲突：请选择保留哪一份", "bad"],
  invalid: ["无效：请修改", "bad"],
  taken: ["已采用服务器版本", "info"],
  discarded: ["已放弃", "warn"],
};
const OUTBOX_STATUS = { pending: ["待同步", "warn"], conflict: ["冲突", "bad"], invalid: ["无效", "bad"] };

const state = {
  me: null, // {username, site_id, site_name, display_name}
  signedIn: false,
  matters: [],
  matterByCode: {},
  server: new Map(), // case id → server copy (masked)
  outbox: new Map(), // case id → pending create or edit
  log: [],
  filter: "open",
  online: navigator.onLine,
  syncing: false,
  again: false,
  retry: 0,
  retryTimer: null,
  editing: null, // outbox entry being corrected in the form
  receivedTouched: false, // the agent changed 受理时间 (else it is "now" when opened and saved)
  returning: new Map(), // case id → 退回原因 being typed (kept through re-renders and tab switches)
  stats: null,
};

// ---------------------------------------------------------------- IndexedDB

const STORES = ["outbox", "cases", "log", "meta"];
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise(function (resolve, reject) {
      const request = indexedDB.open("registry-agent", 1);
      request.onupgradeneeded = function () {
        const d = request.result;
        STORES.forEach(function (name) {
          if (!d.objectStoreNames.contains(name)) d.createObjectStore(name, { keyPath: "key" });
        });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
    });
  }
  return dbPromise;
}

/* One transaction over `names`; fn(stores) queues requests; resolves when committed with
 * the result of the last request fn returned (if any). */
function write(names, mode, fn) {
  return db().then(function (d) {
    return new Promise(function (resolve, reject) {
      const t = d.transaction(names, mode);
      const stores = {};
      names.forEach(function (n) {
        stores[n] = t.objectStore(n);
      });
      let result;
      const request = fn(stores);
      if (request) {
        request.onsuccess = function () {
          result = request.result;
        };
      }
      t.oncomplete = function () {
        resolve(result);
      };
      t.onerror = function () {
        reject(t.error);
      };
      t.onabort = function () {
        reject(t.error);
      };
    });
  });
}

function readAll(name) {
  return write([name], "readonly", function (s) {
    return s[name].getAll();
  }).then(function (rows) {
    return (rows || []).filter(function (r) {
      return r.owner === state.me.username;
    });
  });
}

function put(name, value) {
  value.owner = state.me.username;
  return write([name], "readwrite", function (s) {
    s[name].put(value);
  });
}

function metaKey(what) {
  return what + ":" + state.me.username;
}

async function getMeta(what) {
  const row = await write(["meta"], "readonly", function (s) {
    return s.meta.get(metaKey(what));
  });
  return row ? row.value : null;
}

function putMeta(what, value) {
  return put("meta", { key: metaKey(what), value: value, at: new Date().toISOString() });
}

// ---------------------------------------------------------------- helpers

function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  // Plain-HTTP deployments have no randomUUID (not a secure context): RFC 4122 v4 by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.prototype.map.call(b, (x) => (x + 0x100).toString(16).slice(1)).join("");
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

function maskName(name) {
  const chars = Array.from(name || "");
  if (chars.length <= 1) return "*";
  if (chars.length === 2) return chars[0] + "*";
  return chars[0] + "*".repeat(chars.length - 2) + chars[chars.length - 1];
}

function matterName(code) {
  const m = state.matterByCode[code];
  return m ? m.name : code;
}

// The page's message line under the tabs: hidden when it has nothing to say (no empty band).
function status(text, kind) {
  say("status", text, kind);
  $("status").hidden = !text;
}

// The server's messages name fields by their API names: the page says them in Chinese.
const FIELD_LABEL = {
  note: "备注",
  returned_reason: "退回原因",
  resident_name: "居民姓名",
  resident_id_number: "居民身份证号码",
  resident_phone: "联系电话",
  received_at: "受理时间",
  forwarded_at: "转办时间",
  completed_at: "办结时间",
  returned_at: "退回时间",
  delivered_at: "回复时间",
  matter_code: "代办事项",
  site_id: "代办点",
  rating: "评价",
  state: "状态",
  version: "版本",
  fee_yuan: "费用",
};
const FIELD_NAMES = new RegExp("\\b(" + Object.keys(FIELD_LABEL).join("|") + ")\\b", "g");

function labelled(text) {
  return text
    .replace(/^记录字段无效：.*?`\$\.?([a-z_]+)`.*$/, (m, f) => "“" + (FIELD_LABEL[f] || "某一项") + "”填写有误")
    .replace(/^记录字段无效：.*$/, "记录格式有误")
    .replace(FIELD_NAMES, (m, f) => FIELD_LABEL[f])
    .replace(/ +/g, "")
    .trim();
}

// Each problem once, in Chinese, fields by their labels.
function errorsOf(list) {
  const seen = [];
  (list || []).forEach(function (e) {
    const text = labelled(String(e.message || e.detail || e).split(" / ")[0]);
    if (text && seen.indexOf(text) < 0) seen.push(text);
  });
  return seen;
}

// ---------------------------------------------------------------- network state

function setNet(online) {
  state.online = online;
  const pill = $("net");
  pill.classList.toggle("offline", !online);
  renderNet();
}

// The pill and the account name tell one story: online but not signed in, the records wait for
// a sign-in, not for the network.
function renderNet() {
  const pending = pendingCount();
  const waiting = !pending ? "" : state.online && state.me && !state.signedIn ? " · " + pending + " 条登录后同步" : " · " + pending + " 条待同步";
  $("net-text").textContent = (state.online ? "在线" : "离线") + waiting;
  if (state.me && !state.signedIn) $("account-name").textContent = state.me.username + (state.online ? "（未登录）" : "（离线，未登录）");
  $("pending-count").textContent = String(state.outbox.size);
  $("pending-count").className = "badge" + (state.outbox.size ? " warn" : "");
}

function pendingCount() {
  let n = 0;
  state.outbox.forEach(function (e) {
    if (e.status === "pending") n++;
  });
  return n;
}

// ---------------------------------------------------------------- identity

function cachedProfile() {
  try {
    return JSON.parse(window.localStorage.getItem(PROFILE_KEY) || "null");
  } catch (e) {
    return null;
  }
}

function saveProfile(profile) {
  try {
    window.localStorage.setItem(PROFILE_KEY, JSON.stringify(profile));
  } catch (e) {
    /* private mode: the profile is fetched again next time */
  }
}

async function reachable() {
  try {
    await api("/healthz", { auth: false, timeout: 3000 });
    return true;
  } catch (e) {
    return !e.offline;
  }
}

/* Who is working: from the server when online; offline, the profile of the last sign-in on
 * this device (records made then are sent once the agent signs in again). */
async function identify() {
  const cached = cachedProfile();
  const session = who();
  if (!token()) {
    if (await reachable()) {
      toLogin();
      return false;
    }
    setNet(false);
    if (!cached) {
      status("需要联网登录一次后才能离线使用。", "bad");
      return false;
    }
    state.me = cached;
    state.signedIn = false;
    return true;
  }
  let me;
  try {
    me = await api("/api/auth/me", { timeout: 8000 });
  } catch (error) {
    if (error.offline && cached && session && cached.username === session.username) {
      state.me = cached;
      state.signedIn = true;
      setNet(false);
      return true;
    }
    if (error.offline) {
      status("需要联网登录一次后才能离线使用。", "bad");
      return false;
    }
    throw error;
  }
  if (me.role !== "village_agent") {
    await requireRole("village_agent");
    return false;
  }
  let siteName = cached && cached.site_id === me.scope ? cached.site_name : "";
  try {
    const site = await api("/api/sites/" + encodeURIComponent(me.scope), { timeout: 8000 });
    siteName = site.signage_name || site.standard_name;
  } catch (e) {
    /* keep the cached name */
  }
  state.me = { username: me.username, site_id: me.scope, site_name: siteName, display_name: me.display_name };
  state.signedIn = true;
  saveProfile(state.me);
  return true;
}

function showIdentity() {
  $("point-name").textContent = (state.me.site_name || "代办点") + " · 编号 " + state.me.site_id;
  showAccount({ username: state.me.username, display_name: state.me.display_name, role: "village_agent" });
  if (!state.signedIn) {
    $("account-name").textContent = state.me.username + "（离线，未登录）";
  }
}

// ---------------------------------------------------------------- loading

async function loadLocal() {
  const [outbox, cases, log] = await Promise.all([readAll("outbox"), readAll("cases"), readAll("log")]);
  state.outbox = new Map(outbox.map((e) => [e.key, e]));
  state.server = new Map(cases.map((c) => [c.key, c.case]));
  state.log = log.sort((a, b) => (a.at < b.at ? 1 : -1));
}

async function loadMatters() {
  try {
    const body = await api("/api/matters", { auth: false, timeout: 10000, cached: true });
    state.matters = body.items;
    putMeta("matters", body.items);
  } catch (error) {
    state.matters = (await getMeta("matters")) || [];
    if (!state.matters.length) say("form-status", "事项目录尚未下载：请联网打开一次本页。", "bad");
  }
  state.matterByCode = {};
  state.matters.forEach(function (m) {
    state.matterByCode[m.code] = m;
  });
  renderMatters();
  render();
}

// The point's recent and unfinished cases from the server (masked), kept for offline reading.
async function refreshServer() {
  if (!state.signedIn) return;
  const site = state.me.site_id;
  const since = new Date(Date.now() - 30 * 86400000);
  const asks = ["received", "forwarded", "completed", "returned"].map(function (s) {
    return api("/api/cases", { params: { site: site, state: s, limit: 1000 }, timeout: 20000 });
  });
  asks.push(api("/api/cases", { params: { site: site, from: chinaDate(since), limit: 1000 }, timeout: 20000 }));
  const lists = await Promise.all(asks);
  const fresh = new Map();
  lists.forEach(function (body) {
    body.items.forEach(function (c) {
      fresh.set(c.id, c);
    });
  });
  state.server = fresh;
  const owner = state.me.username;
  await write(["cases"], "readwrite", function (s) {
    const cursor = s.cases.openCursor();
    cursor.onsuccess = function () {
      const c = cursor.result;
      if (!c) {
        fresh.forEach(function (value, id) {
          s.cases.put({ key: id, owner: owner, case: value });
        });
        return;
      }
      if (c.value.owner === owner) c.delete();
      c.continue();
    };
  });
}

async function loadStats() {
  try {
    state.stats = await api("/api/cases/stats", { params: { site: state.me.site_id }, timeout: 15000 });
    state.stats.fetched_at = new Date().toISOString();
    putMeta("stats", state.stats);
  } catch (error) {
    if (!error.offline) throw error;
    state.stats = await getMeta("stats");
  }
  renderStats();
}

// ---------------------------------------------------------------- case list

function views() {
  const out = [];
  state.outbox.forEach(function (e) {
    if (e.kind === "create") out.push(localView(e));
  });
  state.server.forEach(function (c) {
    const e = state.outbox.get(c.id);
    out.push(e && e.kind === "patch" ? Object.assign({}, c, e.changes, { _entry: e }) : c);
  });
  return out.sort(function (a, b) {
    return Date.parse(b.received_at) - Date.parse(a.received_at);
  });
}

function localView(e) {
  const r = e.record;
  const server = state.server.get(r.id);
  return Object.assign({}, r, {
    _entry: e,
    _local: true,
    matter_name: matterName(r.matter_code),
    resident_name_masked: maskName(r.resident_name),
    case_number: server ? server.case_number : null,
    due_on: server ? server.due_on : null,
    overdue: false,
  });
}

function matches(v, filter, today) {
  if (filter === "open") return v.state === "received" || v.state === "forwarded";
  if (filter === "today") return chinaDate(v.received_at) === today;
  if (filter === "overdue") return Boolean(v.overdue);
  if (filter === "reply") return v.state === "completed" || v.state === "returned" || (v.state === "delivered" && !v.rating);
  return true;
}

function renderList() {
  const list = $("case-list");
  clear(list);
  const today = chinaDate();
  const all = views();
  const shown = all.filter((v) => matches(v, state.filter, today));
  const overdue = all.filter((v) => v.overdue).length;
  const dueToday = all.filter((v) => v.due_on === today && (v.state === "received" || v.state === "forwarded")).length;
  $("list-note").textContent =
    "显示 " + shown.length + " 件" + (overdue ? "；超期 " + overdue + " 件" : "") + (dueToday ? "；今日到期 " + dueToday + " 件" : "") +
    (state.signedIn ? "" : "；未登录：联网后请登录以同步");
  if (!shown.length) list.appendChild(el("li", { class: "note" }, "没有符合条件的事项。"));
  shown.forEach(function (v) {
    list.appendChild(caseCard(v, today));
  });
}

function caseCard(v, today) {
  const entry = v._entry;
  const cls = "item" + (v.overdue ? " overdue" : "") + (entry ? " local" : "");
  const badges = [el("span", { class: "badge " + (STATE_BADGE[v.state] || "") }, CASE_STATE[v.state] || v.state)];
  if (v.overdue && v.due_on) badges.push(el("span", { class: "badge bad" }, "超期 " + daysBetween(v.due_on, today) + " 天"));
  else if (v.due_on === today && (v.state === "received" || v.state === "forwarded")) badges.push(el("span", { class: "badge warn" }, "今日到期"));
  if (entry) badges.push(el("span", { class: "badge " + OUTBOX_STATUS[entry.status][1] }, OUTBOX_STATUS[entry.status][0]));
  if (v.rating) badges.push(el("span", { class: "badge" }, RATING[v.rating] || v.rating));
  const matter = state.matterByCode[v.matter_code];
  const due = v.due_on
    ? "办结期限 " + v.due_on + (v.due_provisional ? "（预计）" : "")
    : matter
      ? "时限 " + matter.time_limit_days + " 个工作日（同步后计算期限）"
      : "";
  const li = el("li", { class: cls, "data-id": v.id }, [
    el("div", { class: "head" }, [el("span", { class: "title" }, v.matter_name || matterName(v.matter_code)), el("span", null, badges)]),
    el("div", { class: "meta" }, [
      (v.case_number ? "编号 " + v.case_number : "本机新建，尚未编号") + " · 居民 " + v.resident_name_masked,
    ]),
    el("div", { class: "meta" }, "受理 " + chinaDateTime(v.received_at) + (due ? " · " + due : "")),
    v.returned_reason ? el("div", { class: "meta" }, "退回原因：" + v.returned_reason) : null,
  ]);
  li.appendChild(actionButtons(v));
  return li;
}

function button(text, cls, fn) {
  const b = el("button", { type: "button", class: "small " + (cls || "") }, text);
  b.addEventListener("click", fn);
  return b;
}

function actionButtons(v) {
  const box = el("div", { class: "buttons" });
  if (v.state === "forwarded" && state.returning.has(v.id)) {
    returnForm(box, v, false);
    return box;
  }
  const now = () => new Date().toISOString();
  if (v.state === "received") {
    box.appendChild(button("转办（报送乡镇）", "primary", () => act(v, { state: "forwarded", forwarded_at: now() }, "已转办")));
  } else if (v.state === "forwarded") {
    box.appendChild(button("办结", "primary", () => act(v, { state: "completed", completed_at: now() }, "已办结")));
    box.appendChild(
      button("退回", "danger", function () {
        state.returning.set(v.id, "");
        returnForm(box, v, true);
      })
    );
  } else if (v.state === "completed" || v.state === "returned") {
    box.appendChild(button("已回复居民", "primary", () => act(v, { state: "delivered", delivered_at: now() }, "已回复")));
  } else if (v.state === "delivered" && !v.rating) {
    const id = "rating-" + v.id;
    const select = el("select", { id: id });
    options(select, Object.keys(RATING).map((k) => [k, RATING[k]]), "请选择评价");
    box.appendChild(el("label", { for: id, class: "note" }, "居民评价"));
    box.appendChild(select);
    box.appendChild(
      button("记录评价", "", function () {
        if (!select.value) {
          status("请先选择评价。", "bad");
          select.focus();
          return;
        }
        act(v, { rating: select.value }, "已记录评价");
      })
    );
  }
  return box;
}

// The reason typed is kept in state.returning until confirmed or cancelled: a re-render (a
// sync, a tab switch) shows the form again with it.
function returnForm(box, v, focus) {
  clear(box);
  const id = "reason-" + v.id;
  const input = el("input", { id: id, maxlength: 500, required: true, enterkeyhint: "done" });
  input.value = state.returning.get(v.id) || "";
  input.addEventListener("input", () => state.returning.set(v.id, input.value));
  function confirm() {
    const reason = input.value.trim();
    const found = reason ? personalInText(reason, []) : "";
    const problem = !reason ? "退回须填写原因。" : found ? "退回原因" + found + "。" : "";
    if (problem) {
      input.setAttribute("aria-invalid", "true");
      status(problem, "bad");
      input.focus();
      return;
    }
    state.returning.delete(v.id);
    act(v, { state: "returned", returned_at: new Date().toISOString(), returned_reason: reason }, "已退回");
  }
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      confirm();
    }
  });
  box.appendChild(el("label", { for: id, class: "note" }, "退回原因（必填，不写身份证号、电话）"));
  box.appendChild(input);
  box.appendChild(button("确认退回", "danger", confirm));
  box.appendChild(
    button("取消", "", function () {
      state.returning.delete(v.id);
      renderList();
    })
  );
  if (focus) input.focus();
}

// ---------------------------------------------------------------- personal data in free text

// As the server reads free text (registry/core/text.py word_view): NFKC, zero-width characters
// dropped, Chinese numerals as digits, case folded, every separator (space, dot, dash, ·…) gone.
const NUMERALS = { "〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "幺": "1" };
const SEPARATOR_LETTERS = "\u318d\u119e\ua78f\u1427\u02d1\u30fc";

function wordView(text) {
  const folded = Array.from(String(text || "").normalize("NFKC").replace(/[\u200b-\u200d\u2060\ufeff]/g, "").toUpperCase())
    .map((c) => NUMERALS[c] || c)
    .join("")
    .toLowerCase();
  return Array.from(folded)
    .filter((c) => /[\p{L}\p{N}]/u.test(c) && SEPARATOR_LETTERS.indexOf(c) < 0)
    .join("");
}

/* The problem of a note or a reason that carries an identity or a mobile number, or one of
 * `known` (the resident's name typed in the same form), however separated; else "". */
function personalInText(text, known) {
  if (/\d{17}[\dXx]|1[3-9]\d{9}/.test(String(text || "").normalize("NFKC").replace(/[\s\-.·()（）]/g, ""))) {
    return "不能包含身份证号或手机号";
  }
  const words = wordView(text);
  for (const item of known) {
    const wanted = wordView(item);
    if (wanted.length >= 2 && words.indexOf(wanted) >= 0) return "不能包含居民姓名";
  }
  return "";
}

/* Record a step: on a case not yet sent, the record itself changes; on a server case an edit
 * (based on the version shown) is queued, merged with any edit already waiting. */
async function act(v, changes, done) {
  const owner = state.me.username;
  let entry;
  if (v._local) {
    entry = v._entry;
    Object.assign(entry.record, changes);
  } else {
    entry = state.outbox.get(v.id);
    if (entry && entry.kind === "patch") {
      Object.assign(entry.changes, changes);
    } else {
      const base = state.server.get(v.id);
      entry = {
        key: v.id,
        id: v.id,
        owner: owner,
        kind: "patch",
        version: base.version,
        base: base,
        changes: Object.assign({}, changes),
        label: base.matter_name + " " + base.case_number,
      };
    }
  }
  entry.status = "pending";
  entry.errors = [];
  entry.server = null;
  entry.saved_at = new Date().toISOString();
  await put("outbox", entry);
  state.outbox.set(entry.key, entry);
  render();
  status(done + "：已保存到本机" + (state.online ? "，正在同步…" : "，联网后自动同步。"), "ok");
  syncSoon();
}

// ---------------------------------------------------------------- new case form

// The same rule as the catalogue's search on the server (registry/cases/rules/guides.py): every
// word in the code, name, category, department or an alias — the common names residents and
// clerks use (低保, 社保卡, 医保); an alias or the code equal to the words first, then names
// containing them.
function matterRank(m, words) {
  const fold = (t) => String(t || "").normalize("NFKC").toLowerCase();
  const aliases = (m.aliases || []).map(fold);
  const haystack = [m.code, m.name, m.category, m.department].map(fold).concat(aliases).join(" ");
  const parts = words.split(/\s+/).filter(Boolean);
  if (!parts.every((w) => haystack.indexOf(w) >= 0)) return -1;
  if (aliases.indexOf(words) >= 0 || fold(m.code) === words) return 0;
  return fold(m.name).indexOf(words) >= 0 ? 1 : 2;
}

function renderMatters() {
  const box = $("matter-list");
  const words = $("matter-search").value.normalize("NFKC").trim().toLowerCase();
  const chosen = selectedMatter();
  clear(box);
  const shown = state.matters
    .map((m, i) => ({ m: m, i: i, rank: words ? matterRank(m, words) : 0 }))
    .filter((x) => x.rank >= 0 || x.m.code === chosen)
    .sort((a, b) => (a.rank < 0 ? 3 : a.rank) - (b.rank < 0 ? 3 : b.rank) || a.i - b.i);
  shown.forEach(function (x) {
    const m = x.m;
    const id = "matter-" + m.code;
    const input = el("input", { type: "radio", name: "matter", id: id, value: m.code, checked: m.code === chosen });
    input.addEventListener("change", showMatter);
    box.appendChild(
      el("div", { class: "matter" }, [
        input,
        el("label", { for: id }, [" " + m.name + " ", el("span", { class: "note" }, m.code + " · " + m.category + " · " + m.time_limit_days + " 个工作日")]),
      ])
    );
  });
  if (!shown.length) box.appendChild(el("p", { class: "note" }, "没有匹配的事项。"));
}

function selectedMatter() {
  const checked = document.querySelector("#matter-list input[name=matter]:checked");
  return checked ? checked.value : null;
}

function showMatter() {
  const m = state.matterByCode[selectedMatter()];
  $("matter-info").textContent = m
    ? "已选：" + m.name + "（" + m.code + "）。办理时限 " + m.time_limit_days + " 个工作日；承办 " + m.department +
      (m.materials && m.materials.length ? "；材料：" + m.materials.join("、") : "")
    : "";
}

function checkId(final) {
  const input = $("resident-id");
  const hint = $("resident-id-hint");
  const value = normaliseId(input.value);
  if (!value) {
    input.removeAttribute("aria-invalid");
    say(hint, "输入后在本机校验（出生日期、校验码）。");
    return ["请填写居民身份证号码"];
  }
  if (value.length < 18 && !final) {
    input.removeAttribute("aria-invalid");
    say(hint, "已输入 " + value.length + " 位，共 18 位。");
    return ["身份证号码未输入完整"];
  }
  const problems = idProblems(value, chinaDate());
  if (problems.length) {
    input.setAttribute("aria-invalid", "true");
    say(hint, "身份证号码有误：" + problems.join("；"), "bad");
  } else {
    input.setAttribute("aria-invalid", "false");
    const sex = Number(value[16]) % 2 ? "男" : "女";
    say(hint, "校验通过（" + value.slice(6, 10) + "-" + value.slice(10, 12) + "-" + value.slice(12, 14) + " 出生，" + sex + "）", "ok");
  }
  return problems;
}

function checkPhone() {
  const input = $("resident-phone");
  const text = input.value.normalize("NFKC").replace(/[\s\-()（）]/g, "").replace(/^(\+86|0086)/, "");
  if (!text) {
    input.removeAttribute("aria-invalid");
    say("resident-phone-hint", "");
    return [];
  }
  if (/^1[3-9]\d{9}$/.test(text) || /^0\d{9,11}$/.test(text)) {
    input.setAttribute("aria-invalid", "false");
    say("resident-phone-hint", "");
    return [];
  }
  input.setAttribute("aria-invalid", "true");
  say("resident-phone-hint", "应为 11 位手机号或带区号的固定电话", "bad");
  return ["联系电话格式有误"];
}

// 受理时间 is "now" when the form is opened and when it is saved, unless the agent changed it.
function freshReceived() {
  $("received-at").max = chinaLocalNow();
  if (!state.receivedTouched && !state.editing) $("received-at").value = chinaLocalNow();
}

function resetForm() {
  $("case-form").reset();
  state.receivedTouched = false;
  state.editing = null;
  freshReceived();
  ["resident-id", "resident-phone", "resident-name"].forEach((id) => $(id).removeAttribute("aria-invalid"));
  checkId(false);
  checkPhone();
  $("edit-note").hidden = true;
  $("case-cancel").hidden = true;
  $("new-heading").textContent = "新建受理";
  renderMatters();
  showMatter();
}

function editEntry(entry) {
  const r = entry.record;
  resetForm();
  state.editing = entry;
  $("matter-search").value = "";
  renderMatters();
  const radio = $("matter-" + r.matter_code);
  if (radio) radio.checked = true;
  showMatter();
  $("resident-name").value = r.resident_name;
  $("resident-id").value = r.resident_id_number;
  $("resident-phone").value = r.resident_phone || "";
  $("received-at").value = chinaDateTime(r.received_at).replace(" ", "T");
  state.receivedTouched = true;
  $("case-note").value = r.note || "";
  checkId(true);
  $("new-heading").textContent = "修改本机记录";
  $("edit-note").hidden = false;
  $("edit-note").textContent = "修改后按原编号重新发送：" + errorsOf(entry.errors).join("；");
  $("case-cancel").hidden = false;
  showTab("tab-new");
}

async function saveCase(event) {
  event.preventDefault();
  const problems = [];
  const matter = selectedMatter();
  if (!matter) problems.push("请选择代办事项");
  const name = $("resident-name").value.normalize("NFKC").trim();
  if (!name) problems.push("请填写居民姓名");
  else if (/\d/.test(name)) problems.push("居民姓名不能包含数字");
  $("resident-name").setAttribute("aria-invalid", !name || /\d/.test(name) ? "true" : "false");
  checkId(true).forEach((p) => problems.push(p));
  checkPhone().forEach((p) => problems.push(p));
  freshReceived();
  const received = $("received-at").value;
  if (!received) problems.push("请填写受理时间");
  else if (Date.parse(chinaLocalToIso(received)) > Date.now() + 10 * 60000) problems.push("受理时间不能晚于现在");
  const note = $("case-note").value.trim();
  const noteProblem = personalInText(note, [name]);
  $("case-note").setAttribute("aria-invalid", noteProblem ? "true" : "false");
  if (noteProblem) problems.push("备注" + noteProblem);
  if (problems.length) {
    say("form-status", problems.join("；"), "bad");
    const bad = document.querySelector("#case-form [aria-invalid=true]");
    if (bad) bad.focus();
    return;
  }
  const phone = $("resident-phone").value.trim();
  const fields = {
    site_id: Number(state.me.site_id),
    matter_code: matter,
    resident_name: name,
    resident_id_number: normaliseId($("resident-id").value),
    resident_phone: phone || null,
    received_at: chinaLocalToIso(received),
    note: note || null,
  };
  let entry;
  if (state.editing) {
    entry = state.editing;
    Object.assign(entry.record, fields);
  } else {
    const id = uuid();
    entry = { key: id, id: id, kind: "create", record: Object.assign({ id: id, state: "received" }, fields) };
  }
  entry.label = matterName(matter);
  entry.status = "pending";
  entry.errors = [];
  entry.server = null;
  entry.saved_at = new Date().toISOString();
  await put("outbox", entry);
  state.outbox.set(entry.key, entry);
  resetForm();
  say("form-status", "已保存到本机" + (state.online ? "，正在同步…" : "（离线），联网后自动同步。") + "可继续受理下一件。", "ok");
  render();
  // On a phone the form is taller than the screen: bring the confirmation to where the eye is.
  $("form-status").scrollIntoView({ block: "center" });
  syncSoon();
}

// ---------------------------------------------------------------- sync

function syncSoon() {
  if (state.online && state.signedIn) setTimeout(syncNow, 0);
  else renderSyncStatus();
}

function scheduleRetry() {
  clearTimeout(state.retryTimer);
  if (!pendingCount()) return;
  const wait = RETRY_MS[Math.min(state.retry, RETRY_MS.length - 1)];
  state.retry++;
  state.retryTimer = setTimeout(syncNow, wait);
  say("sync-status", "无法连接服务器，" + Math.round(wait / 1000) + " 秒后重试（" + pendingCount() + " 条待同步）。", "warn");
}

function renderSyncStatus() {
  const n = pendingCount();
  const attention = state.outbox.size - n;
  let text;
  if (!state.signedIn) text = "未登录：联网后请重新登录，" + n + " 条记录将自动同步。";
  else if (!state.online) text = "离线：" + n + " 条记录保存在本机，联网后自动同步。";
  else text = n ? n + " 条记录待同步。" : attention ? "" : "全部记录已同步。";
  if (attention) text += attention + " 条记录需要处理（冲突或无效），见下方。";
  say("sync-status", text, attention ? "bad" : n ? "warn" : "ok");
  $("relogin").hidden = state.signedIn || !state.online;
  renderNet();
}

async function acknowledge(entry, result, server) {
  const owner = state.me.username;
  const at = new Date().toISOString();
  const logRow = {
    key: at + ":" + entry.id,
    owner: owner,
    id: entry.id,
    at: at,
    result: result,
    label: (server ? server.matter_name + " " + server.case_number : entry.label) || entry.id,
    errors: [],
  };
  // One transaction: the server copy in, the record with the resident's data out, a log line.
  await write(["outbox", "cases", "log"], "readwrite", function (s) {
    s.outbox.delete(entry.key);
    if (server) s.cases.put({ key: server.id, owner: owner, case: server });
    s.log.put(logRow);
  });
  state.outbox.delete(entry.key);
  if (server) state.server.set(server.id, server);
  state.log.unshift(logRow);
}

async function setback(entry, result, errors, server) {
  entry.status = result;
  entry.errors = errors || [];
  entry.server = server || null;
  await put("outbox", entry);
  const at = new Date().toISOString();
  const logRow = {
    key: at + ":" + entry.id,
    id: entry.id,
    at: at,
    result: result,
    label: entry.label,
    errors: errorsOf(errors),
  };
  await put("log", logRow);
  state.log.unshift(logRow);
}

async function pruneLog() {
  const old = state.log.slice(LOG_KEEP);
  state.log = state.log.slice(0, LOG_KEEP);
  if (!old.length) return;
  await write(["log"], "readwrite", function (s) {
    old.forEach((row) => s.log.delete(row.key));
  });
}

async function sendCreates(entries) {
  for (let i = 0; i < entries.length; i += BATCH) {
    const chunk = entries.slice(i, i + BATCH);
    const body = await api("/api/cases/sync", { json: { records: chunk.map((e) => e.record) }, timeout: 60000 });
    for (const r of body.results) {
      const entry = chunk[r.index];
      if (r.result === "created" || r.result === "updated" || r.result === "unchanged") {
        await acknowledge(entry, r.result, r.case);
      } else if (r.result === "conflict") {
        const own = r.case && r.case.created_by === state.me.username && r.case.version === 1;
        const codes = (r.errors || []).map((e) => e.code);
        if (own && codes.indexOf("version_required") >= 0 && !entry.resent) {
          // Our own earlier send whose answer was lost, then changed here: send it as an edit.
          entry.record.version = r.case.version;
          entry.resent = true;
          await put("outbox", entry);
          state.again = true;
        } else {
          await setback(entry, "conflict", r.errors, r.case);
        }
      } else {
        await setback(entry, "invalid", r.errors, null);
      }
    }
  }
}

async function sendPatches(entries) {
  for (const entry of entries) {
    try {
      const body = Object.assign({ version: entry.version }, entry.changes);
      const server = await api("/api/cases/" + encodeURIComponent(entry.id), { method: "PATCH", json: body, timeout: 20000 });
      await acknowledge(entry, "updated", server);
    } catch (error) {
      if (error.offline || error.status === 401 || error.status >= 500) throw error;
      if (error.status === 409 && error.body.case) await setback(entry, "conflict", [error.body], error.body.case);
      else await setback(entry, "invalid", (error.body.errors || []).length ? error.body.errors : [error.body], null);
    }
  }
}

// One sync at a time across all tabs of this browser (Web Locks, where available).
function exclusive(fn) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request("registry-agent-sync", fn);
  return fn();
}

async function syncNow() {
  if (!state.me) return;
  if (state.syncing) {
    state.again = true;
    return;
  }
  if (!state.signedIn) {
    renderSyncStatus();
    return;
  }
  clearTimeout(state.retryTimer);
  state.syncing = true;
  $("sync-now").disabled = true;
  say("sync-status", "正在同步…", "busy");
  let sent = 0;
  try {
    await exclusive(async function () {
      // Start from what IndexedDB holds now: another tab may have sent some records already.
      await loadLocal();
      const pending = Array.from(state.outbox.values()).filter((e) => e.status === "pending");
      sent = pending.length;
      await sendCreates(pending.filter((e) => e.kind === "create"));
      await sendPatches(pending.filter((e) => e.kind === "patch"));
    });
    state.retry = 0;
    setNet(true);
    await pruneLog();
    await refreshServer();
    renderSyncStatus();
    if (sent) {
      const attention = state.outbox.size - pendingCount();
      status(attention ? "同步完成，" + attention + " 条需要处理：见“同步”。" : "同步完成。", attention ? "warn" : "ok");
      loadStats().catch(() => null);
    }
  } catch (error) {
    if (error.offline || error.status >= 500) {
      setNet(!error.offline && state.online);
      scheduleRetry();
    } else {
      say("sync-status", "同步失败：" + error.message, "bad");
    }
  } finally {
    state.syncing = false;
    $("sync-now").disabled = false;
    render();
    if (state.again) {
      state.again = false;
      if (pendingCount()) setTimeout(syncNow, 0);
    }
  }
}

// ---------------------------------------------------------------- outbox, conflicts, log

const when = (v) => (v ? chinaDateTime(v).slice(5) : "—"); // MM-DD HH:MM
const COMPARE = [
  ["state", "状态", (v) => CASE_STATE[v] || v],
  ["forwarded_at", "转办时间", when],
  ["completed_at", "办结时间", when],
  ["returned_at", "退回时间", when],
  ["returned_reason", "退回原因", (v) => v || "—"],
  ["delivered_at", "回复时间", when],
  ["rating", "评价", (v) => (v ? RATING[v] || v : "—")],
  ["note", "备注", (v) => v || "—"],
  ["version", "版本", (v) => (v === null || v === undefined ? "—" : String(v))],
];

function mineOf(entry) {
  if (entry.kind === "create") return entry.record;
  return Object.assign({}, entry.base || {}, entry.changes, { version: entry.version });
}

// Both copies side by side, one row per field, differences marked.
function comparison(entry) {
  const mine = mineOf(entry);
  const theirs = entry.server || {};
  const value = (data, f) => (data[f[0]] === undefined ? null : data[f[0]]);
  const tbody = el("tbody");
  COMPARE.forEach(function (f) {
    const a = value(mine, f);
    const b = value(theirs, f);
    if (a === null && b === null) return;
    // Instants differ only if they differ to the second (the server keeps whole seconds).
    const differs = /_at$/.test(f[0]) && a && b ? Math.floor(Date.parse(a) / 1000) !== Math.floor(Date.parse(b) / 1000) : String(a) !== String(b);
    tbody.appendChild(
      el("tr", { class: differs ? "diff" : null }, [
        el("th", { scope: "row" }, f[1]),
        el("td", null, f[2](a)),
        el("td", null, f[2](b)),
      ])
    );
  });
  return el("table", { class: "data compare" }, [
    el("thead", null, el("tr", null, [el("th", { scope: "col" }, "字段"), el("th", { scope: "col" }, "本机的"), el("th", { scope: "col" }, "服务器上的")])),
    tbody,
  ]);
}

function renderOutbox() {
  const list = $("outbox-list");
  clear(list);
  const entries = Array.from(state.outbox.values()).sort((a, b) => (a.saved_at < b.saved_at ? -1 : 1));
  if (!entries.length) list.appendChild(el("li", { class: "note" }, "本机没有待同步的记录。"));
  entries.forEach(function (e) {
    const st = OUTBOX_STATUS[e.status];
    const li = el("li", { class: "item local", "data-id": e.id, "data-status": e.status }, [
      el("div", { class: "head" }, [
        el("span", { class: "title" }, (e.kind === "create" ? "新受理 · " : "办理更新 · ") + (e.label || "")),
        el("span", { class: "badge " + st[1] }, st[0]),
      ]),
      el("div", { class: "meta" }, "本机保存于 " + chinaDateTime(e.saved_at) + (e.kind === "create" ? " · 居民 " + maskName(e.record.resident_name) : "")),
    ]);
    errorsOf(e.errors).forEach((m) => li.appendChild(el("div", { class: "bad" }, m)));
    const box = el("div", { class: "buttons" });
    if (e.status === "conflict") {
      li.appendChild(comparison(e));
      box.appendChild(button("保留我的", "primary", () => keepMine(e)));
      box.appendChild(button("采用服务器的", "", () => takeTheirs(e)));
    } else if (e.status === "invalid") {
      if (e.kind === "create") box.appendChild(button("修改", "primary", () => editEntry(e)));
      box.appendChild(discardButton(e));
    }
    li.appendChild(box);
    list.appendChild(li);
  });
}

function discardButton(entry) {
  const b = button("放弃此记录", "danger", function () {
    if (b.getAttribute("data-armed") !== "1") {
      b.setAttribute("data-armed", "1");
      b.textContent = "确认放弃（不可恢复）";
      return;
    }
    resolve(entry, "discarded", null);
  });
  return b;
}

async function keepMine(entry) {
  // Resend on top of the server's version; the server still checks every rule.
  if (entry.kind === "create") entry.record.version = entry.server.version;
  else {
    entry.version = entry.server.version;
    entry.base = entry.server;
  }
  entry.status = "pending";
  entry.errors = [];
  entry.server = null;
  await put("outbox", entry);
  render();
  syncSoon();
}

function takeTheirs(entry) {
  return resolve(entry, "taken", entry.server);
}

async function resolve(entry, result, server) {
  await acknowledge(entry, result, server);
  render();
  status(RESULT[result][0] + "。", "ok");
}

function renderLog() {
  const list = $("log-list");
  clear(list);
  if (!state.log.length) list.appendChild(el("li", { class: "note" }, "尚无同步记录。"));
  state.log.slice(0, LOG_KEEP).forEach(function (row) {
    const r = RESULT[row.result] || [row.result, ""];
    const li = el("li", { class: "item", "data-id": row.id, "data-result": row.result }, [
      el("div", { class: "head" }, [el("span", { class: "title" }, row.label || row.id), el("span", { class: "badge " + r[1] }, r[0])]),
      el("div", { class: "meta" }, chinaDateTime(row.at)),
    ]);
    (row.errors || []).forEach((m) => li.appendChild(el("div", { class: "bad" }, m)));
    list.appendChild(li);
  });
}

// ---------------------------------------------------------------- statistics

function renderStats() {
  const s = state.stats;
  const box = $("stats-figures");
  clear(box);
  const tbody = $("stats-table").querySelector("tbody");
  clear(tbody);
  const bars = clear($("stats-bars"));
  if (!s) {
    $("stats-note").textContent = state.signedIn ? "正在加载…" : "登录后显示。";
    return;
  }
  $("stats-note").textContent = "截至 " + s.as_of + (s.fetched_at ? "（获取于 " + chinaDateTime(s.fetched_at) + "）" : "");
  const t = s.total;
  const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%");
  const figures = [
    ["受理总数", t.cases],
    ["已办结", t.completed],
    ["按期办结率", pct(t.on_time_rate)],
    ["满意率", pct(t.satisfaction_share)],
    ["当前超期", t.overdue],
    ["退回", t.returned],
  ];
  const grid = el("div", { class: "chips" });
  figures.forEach((f) => grid.appendChild(el("span", { class: "badge info" }, f[0] + " " + f[1])));
  box.appendChild(grid);
  // Last 12 months (China calendar), zero-filled.
  const months = [];
  const today = chinaDate();
  let y = Number(today.slice(0, 4));
  let m = Number(today.slice(5, 7));
  for (let i = 0; i < 12; i++) {
    months.unshift(y + "-" + (m < 10 ? "0" : "") + m);
    m--;
    if (!m) {
      m = 12;
      y--;
    }
  }
  const counts = months.map((k) => t.by_month[k] || 0);
  const max = Math.max(1, Math.max.apply(null, counts));
  const W = 360,
    H = 150,
    bw = W / 12;
  months.forEach(function (k, i) {
    const h = (counts[i] / max) * (H - 40);
    bars.appendChild(svg("rect", { x: (i * bw + 3).toFixed(1), y: (H - 20 - h).toFixed(1), width: (bw - 6).toFixed(1), height: h.toFixed(1) }));
    bars.appendChild(svg("text", { class: "value", x: (i * bw + bw / 2).toFixed(1), y: (H - 24 - h).toFixed(1), "text-anchor": "middle" }, String(counts[i])));
    bars.appendChild(svg("text", { x: (i * bw + bw / 2).toFixed(1), y: H - 6, "text-anchor": "middle" }, k.slice(5) + "月"));
  });
  months
    .slice()
    .reverse()
    .forEach(function (k, i) {
      const c = counts[counts.length - 1 - i];
      tbody.appendChild(el("tr", null, [el("td", null, k), el("td", { class: "num" }, String(c))]));
    });
}

// ---------------------------------------------------------------- wiring

let showTab = function () {};

function render() {
  renderList();
  renderOutbox();
  renderLog();
  renderSyncStatus();
}

function wire() {
  showTab = tabs(document.querySelector(".tabs"), function (id) {
    if (id === "tab-stats" && state.me && state.signedIn && state.online) loadStats().catch(() => null);
    if (id === "tab-new") freshReceived();
  });
  document.querySelectorAll(".chips [data-filter]").forEach(function (b) {
    b.addEventListener("click", function () {
      state.filter = b.getAttribute("data-filter");
      document.querySelectorAll(".chips [data-filter]").forEach((o) => o.setAttribute("aria-pressed", o === b ? "true" : "false"));
      renderList();
    });
  });
  $("matter-search").addEventListener("input", debounce(renderMatters, 120));
  $("resident-id").addEventListener("input", () => checkId(false));
  $("resident-id").addEventListener("blur", () => checkId(Boolean($("resident-id").value)));
  $("resident-phone").addEventListener("blur", checkPhone);
  $("case-form").addEventListener("submit", function (event) {
    saveCase(event).catch((e) => say("form-status", "保存失败：" + e.message, "bad"));
  });
  $("case-cancel").addEventListener("click", resetForm);
  $("received-at").addEventListener("input", () => (state.receivedTouched = true));
  $("received-at").addEventListener("change", () => (state.receivedTouched = true));
  $("sync-now").addEventListener("click", () => syncNow());
  window.addEventListener("online", function () {
    setNet(true);
    state.retry = 0;
    syncNow();
  });
  window.addEventListener("offline", function () {
    setNet(false);
    renderSyncStatus();
    // "同步完成" no longer holds once the connection is gone.
    status("已离线：记录先保存在本机，联网后自动同步。", "warn");
  });
}

async function registerWorker() {
  if (!("serviceWorker" in navigator)) {
    status("此浏览器不支持离线使用（无 Service Worker）。", "warn");
    return;
  }
  try {
    await navigator.serviceWorker.register("/agent-sw.js", { scope: "/agent" });
    await navigator.serviceWorker.ready;
    document.body.setAttribute("data-offline-ready", "true");
  } catch (e) {
    status("离线缓存不可用：" + e.message, "warn");
  }
}

async function start() {
  wire();
  setNet(navigator.onLine);
  resetForm();
  registerWorker();
  try {
    if (!(await identify())) return;
  } catch (error) {
    status("加载失败：" + error.message, "bad");
    return;
  }
  showIdentity();
  await loadLocal();
  render();
  await loadMatters();
  if (state.signedIn && state.online) {
    await syncNow();
    loadStats().catch(() => null);
  } else {
    state.stats = await getMeta("stats");
    renderStats();
  }
  document.body.setAttribute("data-ready", "true");
}

start();
