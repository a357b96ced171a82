/* 审核与管理 — the municipal centre's page: the plan review queue (approve / return with a
 * comment, diff against the previous version), accounts (create planners and agents, disable,
 * enable) and the audit trail.
 */
import {
  $, api, CASE_STATE, chinaDateTime, clear, CRS, el, errorLines, options, PLAN_STATE, RATING, requireRole, say, tabs,
} from "/static/common.js";
import {
  AUDIT_ACTION_LABELS, AUDIT_ENTITY_LABELS, AUDIT_FIELD_LABELS, PLAN_TARGET_LABELS, POINT_KINDS, ROLE_LABELS,
  SITE_KIND_LABELS, STATUS_LABELS,
} from "/static/vocab.js";

const AUDIT_PAGE = 50;
const ENTITY = AUDIT_ENTITY_LABELS;
const ACTION = AUDIT_ACTION_LABELS;
const FIELD = { target: "建设目标", target_date: "目标日期", budget_yuan: "预算(元)", funding_source: "资金来源", note: "备注" };

const state = {
  counties: [],
  countyName: {},
  campaigns: {},
  queue: [],
  plan: null,
  users: [],
  auditOffset: 0,
  auditTotal: 0,
  siteName: {}, // site id → its sign (or standard) name, for the audit trail
  caseNumber: {}, // case id → its number
  matterName: null, // matter code → name
  accountName: null, // account id → username
};

function fail(target) {
  return function (error) {
    const lines = errorLines(error);
    say(target, error.message + (lines.length ? "：" + lines.join("；") : ""), "bad");
  };
}

function fmt(value) {
  if (value === null || value === undefined || value === "") return "（空）";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------- review

async function loadQueue() {
  const [queue, overview] = await Promise.all([
    api("/api/plans", { params: { state: "submitted", limit: 1000 } }),
    api("/api/plans", { params: { limit: 1000 } }),
  ]);
  state.queue = queue.items;
  $("queue-count").textContent = String(queue.items.length);
  $("queue-count").className = "badge" + (queue.items.length ? " warn" : "");
  const tbody = clear($("queue").querySelector("tbody"));
  queue.items.forEach(function (p) {
    const row = el("tr", { class: "clickable" + (state.plan && state.plan.id === p.plan_id ? " selected" : ""), "data-plan": p.plan_id, "data-county": p.county_code, tabindex: 0 }, [
      el("td", null, p.county_name),
      el("td", null, state.campaigns[p.campaign] || p.campaign),
      el("td", null, "第 " + p.version + " 版"),
      el("td", null, chinaDateTime(p.submitted_at)),
      el("td", null, [p.review_due_on || "—", p.review_overdue ? el("span", { class: "badge bad" }, " 已逾期") : null]),
    ]);
    row.addEventListener("click", () => openPlan(p.plan_id));
    row.addEventListener("keydown", (event) => event.key === "Enter" && openPlan(p.plan_id));
    tbody.appendChild(row);
  });
  $("queue-note").textContent = queue.items.length
    ? "共 " + queue.items.length + " 个待审核，其中逾期 " + queue.overdue_reviews + " 个（提交后 15 天内应审核）。"
    : "没有待审核的规划。";
  const obody = clear($("overview").querySelector("tbody"));
  overview.items.forEach(function (p) {
    obody.appendChild(
      el("tr", null, [
        el("td", null, p.county_name),
        el("td", null, state.campaigns[p.campaign] || p.campaign),
        el("td", null, (PLAN_STATE[p.state] || p.state) + (p.version ? "（第 " + p.version + " 版）" : "")),
        el("td", null, p.in_force_version ? "第 " + p.in_force_version + " 版，" + p.in_force_item_count + " 项" : "—"),
      ])
    );
  });
}

async function openPlan(id) {
  const body = clear($("detail-body"));
  say("review-result", "");
  $("review-comment").value = "";
  const [plan, versions, check] = await Promise.all([
    api("/api/plans/" + id),
    api("/api/plans/" + id + "/versions"),
    api("/api/plans/" + id + "/check"),
  ]);
  state.plan = plan;
  document.querySelectorAll("#queue tbody tr").forEach((r) => r.classList.toggle("selected", r.getAttribute("data-plan") === String(id)));
  $("detail-heading").textContent = plan.county_name + " · " + (state.campaigns[plan.campaign] || plan.campaign) + " · 第 " + plan.version + " 版";
  body.appendChild(
    el("p", null, [
      el("span", { class: "badge info", id: "detail-state", "data-state": plan.state }, PLAN_STATE[plan.state] || plan.state),
      " 《" + plan.title + "》 " + plan.item_count + " 项，预算合计 " + plan.budget_total_yuan.toLocaleString("zh-CN") + " 元；提交人 " + plan.created_by + "，" + chinaDateTime(plan.submitted_at),
    ])
  );
  body.appendChild(
    el("p", { class: check.ok ? "ok" : "bad" }, check.ok ? "✓ 提交检查通过：应规划 " + check.expected + " 个区划，已规划 " + check.planned + " 个，说明不纳入 " + check.explained + " 个。" : "✗ 提交检查未通过：" + check.errors.length + " 个错误，" + check.warnings.length + " 个未说明的区划。")
  );
  // Targets by year: what the county commits to and when.
  const byYear = {};
  plan.items.forEach(function (i) {
    const k = i.target_date.slice(0, 4) + " · " + (PLAN_TARGET_LABELS[i.target] || i.target);
    byYear[k] = (byYear[k] || 0) + 1;
  });
  body.appendChild(el("h3", null, "目标分布"));
  body.appendChild(
    el(
      "div",
      { class: "chips" },
      Object.keys(byYear)
        .sort()
        .map((k) => el("span", { class: "badge" }, k + "：" + byYear[k]))
    )
  );
  // Places by name, the township first (a county has villages of one name in several).
  const place = (i) => (i.township_name ? i.township_name + " " : "") + i.division_name;
  const explained = plan.explained_places || [];
  if (explained.length) {
    body.appendChild(el("h3", null, "不纳入规划的区划（" + explained.length + " 个）"));
    const ul = el("ul", { class: "note", id: "detail-explained" });
    explained.forEach((e) => ul.appendChild(el("li", null, place(e) + "：" + e.reason)));
    body.appendChild(ul);
  }
  const diff = await renderDiff(body, plan, versions.items);
  body.appendChild(el("h3", null, "审核记录"));
  const reviews = el("ul", { class: "list", id: "detail-reviews" });
  const label = { submit: "提交", approve: "批准", return: "退回" };
  // Newest first, as on the planner's page: the decision that matters is the last one.
  plan.reviews.slice().reverse().forEach(function (r) {
    reviews.appendChild(el("li", { class: "item", "data-action": r.action }, [el("div", { class: "meta" }, chinaDateTime(r.at) + " · " + r.actor + " · " + (label[r.action] || r.action)), el("div", null, r.comment || "（无说明）")]));
  });
  if (!plan.reviews.length) reviews.appendChild(el("li", { class: "note" }, "暂无。"));
  body.appendChild(reviews);

  // Every item, found by name or township and narrowed to what changed; changed rows marked.
  const mark = {};
  if (diff) {
    diff.added.forEach((i) => (mark[i.division_code] = "added"));
    diff.changed.forEach((i) => (mark[i.division_code] = "changed"));
  }
  const MARK = { added: ["新增", "good", "#e6f4ea"], changed: ["修改", "warn", "#fff4dc"] };
  body.appendChild(el("h3", { id: "detail-items-heading" }, "规划明细（共 " + plan.items.length + " 项）"));
  const filter = el("input", { type: "search", id: "detail-filter", "aria-label": "查找条目（名称或乡镇）", placeholder: "查找名称或乡镇" });
  const only = el("select", { id: "detail-only", "aria-label": "显示哪些条目" }, [
    el("option", { value: "" }, "全部条目"),
    el("option", { value: "changed" }, "只看有变化的（新增或修改）"),
  ]);
  only.disabled = !diff;
  const shownNote = el("span", { class: "note", id: "detail-shown", "aria-live": "polite" });
  body.appendChild(el("div", { class: "row2" }, [el("div", { class: "field" }, filter), el("div", { class: "field" }, only)]));
  body.appendChild(shownNote);
  const table = el("table", { class: "data", id: "detail-items" }, [
    el("thead", null, el("tr", null, ["乡镇（街道）", "区划", "建设目标", "目标日期", "预算(元)", "变化"].map((h) => el("th", { scope: "col" }, h)))),
  ]);
  const tbody = el("tbody");
  table.appendChild(tbody);
  const rows = plan.items.map(function (i) {
    const m = mark[i.division_code];
    const row = el("tr", { "data-division": i.division_code, "data-change": m || "" }, [
      el("td", null, i.township_name || "—"),
      el("td", null, i.division_name),
      el("td", null, PLAN_TARGET_LABELS[i.target] || i.target),
      el("td", null, i.target_date),
      el("td", { class: "num" }, i.budget_yuan === null ? "—" : i.budget_yuan.toLocaleString("zh-CN")),
      el("td", null, m ? el("span", { class: "badge " + MARK[m][1] }, MARK[m][0]) : ""),
    ]);
    if (m) row.style.background = MARK[m][2];
    return { row: row, words: i.division_name + " " + (i.township_name || ""), mark: m };
  });
  const show = function () {
    const words = filter.value.trim();
    const changedOnly = only.value === "changed";
    clear(tbody);
    let n = 0;
    rows.forEach(function (r) {
      if (words && r.words.indexOf(words) < 0) return;
      if (changedOnly && !r.mark) return;
      tbody.appendChild(r.row);
      n += 1;
    });
    shownNote.textContent = "显示 " + n + " 项，共 " + rows.length + " 项。";
  };
  filter.addEventListener("input", show);
  only.addEventListener("change", show);
  show();
  body.appendChild(el("div", { class: "scroll tall" }, table));
  $("review-form").hidden = plan.state !== "submitted";
}

// What changed: for a version returned and corrected in place, its items against what was
// returned; otherwise against the version before (the one it amends, else the previous number).
async function renderDiff(body, plan, versions) {
  const box = el("div", { id: "diff" });
  let diff = null;
  let heading = "与上一版本比较";
  let summary = "";
  if (plan.was_returned) {
    diff = await api("/api/plans/" + plan.id + "/changes");
    heading = "与退回时的内容比较";
    summary = "自上次退回以来：";
  } else {
    const earlier = versions.filter((v) => v.version < plan.version).sort((a, b) => b.version - a.version);
    const base = earlier.find((v) => v.id === plan.amends) || earlier[0];
    if (base) {
      diff = await api("/api/plans/" + base.id + "/compare", { params: { with: plan.id } });
      summary = "对比第 " + diff.base.version + " 版：";
    }
  }
  body.appendChild(el("h3", null, heading));
  body.appendChild(box);
  if (!diff) {
    box.appendChild(el("p", { class: "note" }, "这是第一版，没有可比较的版本。"));
    return null;
  }
  const nothing = !diff.added.length && !diff.removed.length && !diff.changed.length && !diff.title_changed;
  box.appendChild(
    el(
      "p",
      { class: nothing ? "warn" : "note", id: "diff-summary" },
      summary + (nothing ? "没有任何变化（原样重新提交）。" : "新增 " + diff.added.length + " 项，删除 " + diff.removed.length + " 项，修改 " + diff.changed.length + " 项，未变 " + diff.unchanged + " 项" + (diff.title_changed ? "；标题已改" : "") + "。")
    )
  );
  const place = (i) => (i.township_name ? i.township_name + " " : "") + i.division_name;
  const value = function (field, v) {
    if (v === null || v === undefined || v === "") return "（空）";
    if (field === "target") return PLAN_TARGET_LABELS[v] || v;
    if (field === "budget_yuan") return Number(v).toLocaleString("zh-CN") + " 元";
    return String(v);
  };
  const list = el("ul", { class: "list", id: "diff-list" });
  diff.added.forEach((i) => list.appendChild(el("li", { class: "ok", "data-change": "added" }, "＋ 新增 " + place(i))));
  diff.removed.forEach((i) => list.appendChild(el("li", { class: "bad", "data-change": "removed" }, "－ 删除 " + place(i))));
  diff.changed.forEach(function (i) {
    list.appendChild(
      el("li", { class: "warn", "data-change": "changed" }, "～ 修改 " + place(i) + "：" + i.changes.map((c) => (FIELD[c.field] || "其他") + " " + value(c.field, c.before) + " → " + value(c.field, c.after)).join("；"))
    );
  });
  if (list.childNodes.length) box.appendChild(el("div", { class: "scroll" }, list));
  return diff;
}

async function decide(action) {
  const plan = state.plan;
  const comment = $("review-comment").value.trim();
  if (action === "return" && !comment) {
    say("review-result", "退回须填写审核意见。", "bad");
    $("review-comment").setAttribute("aria-invalid", "true");
    $("review-comment").focus();
    return;
  }
  $("review-comment").removeAttribute("aria-invalid");
  $("approve").disabled = $("return").disabled = true;
  try {
    // The revision read: a plan changed since it was opened is not decided on unseen.
    const done = await api("/api/plans/" + plan.id + "/" + action, { json: { comment: comment || null, revision: plan.revision } });
    await loadQueue();
    await openPlan(done.id);
    say("review-result", (action === "approve" ? "已批准" : "已退回") + "：" + done.county_name + " 第 " + done.version + " 版。", "ok");
    say("status", (action === "approve" ? "已批准 " : "已退回 ") + done.county_name + " 的规划。", "ok");
  } catch (error) {
    if (error.status === 409 && error.code === "version_conflict") {
      await openPlan(plan.id).catch(() => null);
      say("review-result", error.message + "（已重新载入最新内容，请核对后再审核）", "bad");
      return;
    }
    fail("review-result")(error);
  } finally {
    $("approve").disabled = $("return").disabled = false;
  }
}

// ---------------------------------------------------------------- accounts

async function loadUsers() {
  const params = { role: $("users-role").value, active: $("users-active").value, limit: 1000 };
  const body = await api("/api/users", { params: params });
  state.users = body.items;
  const tbody = clear($("users").querySelector("tbody"));
  body.items.forEach(function (u) {
    const toggle = el("button", { type: "button", class: "small " + (u.active ? "danger" : ""), "data-user": u.username }, u.active ? "停用" : "启用");
    toggle.addEventListener("click", () => setActive(u, !u.active));
    tbody.appendChild(
      el("tr", { "data-user": u.username }, [
        el("td", null, [u.username, u.is_demo ? el("span", { class: "badge warn" }, " 演示") : null]),
        el("td", null, u.display_name || "—"),
        el("td", null, ROLE_LABELS[u.role] || u.role),
        el("td", null, scopeText(u)),
        el("td", null, el("span", { class: "badge " + (u.active ? "good" : "bad") }, u.active ? "启用" : "已停用")),
        el("td", { class: "actions-cell" }, u.role === "municipal" ? "—" : toggle),
      ])
    );
  });
  $("users-count").textContent = "共 " + body.total + " 个";
}

// The scope in words (the server names it: a point by its sign after its township, a division
// by its name); never a bare id or code.
function scopeText(u) {
  if (u.scope_name) return u.scope_name;
  if (u.role === "village_agent") return "代办点（已不在登记册中）";
  if (/^0{12}$/.test(u.scope)) return "全国";
  return state.countyName[u.scope] || "（未知区划）";
}

async function setActive(u, active) {
  try {
    await api("/api/users/" + u.id, { method: "PATCH", json: { active: active } });
    say("users-result", (active ? "已启用 " : "已停用 ") + u.username + (active ? "" : "（其登录凭证立即失效）"), "ok");
    await loadUsers();
  } catch (error) {
    fail("users-result")(error);
  }
}

function role() {
  return document.querySelector("input[name=role]:checked").value;
}

async function fillPoints() {
  const agent = role() === "village_agent";
  $("point-field").hidden = !agent;
  if (!agent) return;
  const county = $("new-county").value;
  if (!county) {
    options($("new-point"), [], "请先选择县市区");
    return;
  }
  const body = await api("/api/sites", { params: { county: county, limit: 1000 }, auth: false });
  const points = body.items
    .filter((s) => POINT_KINDS.includes(s.kind) && s.status !== "closed")
    .sort((a, b) => (a.standard_name < b.standard_name ? -1 : 1));
  options(
    $("new-point"),
    points.map((s) => [String(s.id), (s.signage_name || s.standard_name) + "（" + (STATUS_LABELS[s.status] || s.status) + "）"]),
    "请选择代办点"
  );
}

async function createUser(event) {
  event.preventDefault();
  const agent = role() === "village_agent";
  const scope = agent ? $("new-point").value : $("new-county").value;
  const username = $("new-username").value.trim();
  const password = $("new-password").value;
  if (!scope || !username || !password) {
    say("user-result", "请填写" + (agent ? "代办点" : "县市区") + "、用户名和初始密码。", "bad");
    return;
  }
  try {
    const u = await api("/api/users", {
      json: { username: username, password: password, role: role(), scope: scope, display_name: $("new-display").value.trim(), phone: $("new-phone").value.trim() || null },
    });
    say("user-result", "已创建 " + u.username + "（" + ROLE_LABELS[u.role] + "，" + scopeText(u) + "）。请把初始密码当面交给本人。", "ok");
    $("new-password").value = "";
    $("new-username").value = "";
    $("new-display").value = "";
    $("new-phone").value = "";
    await loadUsers();
  } catch (error) {
    fail("user-result")(error);
  }
}

// ---------------------------------------------------------------- audit

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

// A changed value in words: statuses, kinds, roles and states by their labels, instants in
// China time, yes/no for flags; the plan's campaign by its name.
function auditValue(entity, field, value) {
  if (value === null || value === undefined || value === "") return "（空）";
  if (field === "password") return "（已更改）";
  if (typeof value === "boolean") {
    if (field === "active") return value ? "启用" : "停用";
    return value ? "是" : "否";
  }
  if (Array.isArray(value)) return value.map((v) => auditValue(entity, field, v)).join("、") || "（空）";
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  let labels = null;
  if (field === "status" || field === "previous_status" || field === "skipped") labels = STATUS_LABELS;
  else if (field === "state") labels = entity === "case" ? CASE_STATE : Object.assign({ superseded: "已被替代" }, PLAN_STATE);
  else if (field === "kind") labels = SITE_KIND_LABELS;
  else if (field === "role") labels = ROLE_LABELS;
  else if (field === "rating") labels = RATING;
  else if (field === "crs") labels = CRS;
  else if (field === "target") labels = PLAN_TARGET_LABELS;
  else if (field === "campaign") labels = state.campaigns;
  else if (field === "scope" && state.countyName[text]) return state.countyName[text];
  else if (field === "site_id") return state.siteName[text] || "代办点（已不在登记册中）";
  else if (field === "matter_code" && state.matterName && state.matterName[text]) return state.matterName[text];
  if (labels && labels[text]) return labels[text];
  if (ISO_INSTANT.test(text)) return chinaDateTime(text);
  return text;
}

// A change in words; a new object's fields by their values alone.
function auditChange(a, c) {
  const name = AUDIT_FIELD_LABELS[c.field] || c.field;
  if (a.action === "create" && (c.before === null || c.before === undefined)) return name + "：" + auditValue(a.entity, c.field, c.after);
  return name + "：" + auditValue(a.entity, c.field, c.before) + " → " + auditValue(a.entity, c.field, c.after);
}

// Names of the sites, matters and accounts a page of entries mentions (fetched once each).
async function auditNames(items) {
  const sites = new Set();
  const cases = new Set();
  items.forEach(function (a) {
    if (a.entity === "site") sites.add(a.entity_id);
    if (a.entity === "case") {
      const number = (a.changes || []).find((c) => c.field === "case_number" && c.after);
      if (number) state.caseNumber[a.entity_id] = number.after;
      else cases.add(a.entity_id);
    }
    (a.changes || []).forEach((c) => c.field === "site_id" && c.after !== null && sites.add(String(c.after)));
  });
  const missing = Array.from(sites).filter((id) => !(id in state.siteName));
  const jobs = missing.map((id) =>
    api("/api/sites/" + id, { auth: false })
      .then((s) => (state.siteName[id] = s.signage_name || s.standard_name))
      .catch(() => (state.siteName[id] = ""))
  );
  Array.from(cases)
    .filter((id) => !(id in state.caseNumber))
    .forEach(function (id) {
      jobs.push(
        api("/api/cases/" + id)
          .then((c) => (state.caseNumber[id] = c.case_number))
          .catch(() => (state.caseNumber[id] = ""))
      );
    });
  if (!state.matterName) {
    jobs.push(
      api("/api/matters", { params: { include_inactive: true }, auth: false })
        .then(function (body) {
          state.matterName = {};
          body.items.forEach((m) => (state.matterName[m.code] = m.name));
        })
        .catch(() => null)
    );
  }
  if (!state.accountName) {
    jobs.push(
      api("/api/users", { params: { limit: 1000 } })
        .then(function (body) {
          state.accountName = {};
          body.items.forEach((u) => (state.accountName[String(u.id)] = u.username));
        })
        .catch(() => null)
    );
  }
  await Promise.all(jobs);
}

// The object of an entry in words: a case by its number when the entry carries it.
function auditObject(a) {
  const label = ENTITY[a.entity] || a.entity;
  if (a.entity === "case") return label + (state.caseNumber[a.entity_id] ? " " + state.caseNumber[a.entity_id] : "");
  if (a.entity === "site" && state.siteName[a.entity_id]) return label + " " + state.siteName[a.entity_id];
  if (a.entity === "account" && state.accountName && state.accountName[a.entity_id]) return label + " " + state.accountName[a.entity_id];
  if (a.entity === "division") return label + " " + (state.countyName[a.entity_id] || a.entity_id);
  return label + " " + a.entity_id;
}

async function loadAudit(offset) {
  state.auditOffset = Math.max(0, offset || 0);
  const since = $("audit-since").value;
  const until = $("audit-until").value;
  $("audit-until").removeAttribute("aria-invalid");
  if (since && until && until < since) {
    clear($("audit").querySelector("tbody"));
    say("audit-note", "截止日期早于起始日期，请交换两个日期。", "bad");
    $("audit-until").setAttribute("aria-invalid", "true");
    $("audit-prev").disabled = $("audit-next").disabled = true;
    return;
  }
  const params = {
    q: $("audit-q").value.trim(),
    entity: $("audit-entity").value,
    actor: $("audit-actor").value.trim(),
    action: $("audit-action").value,
    county: $("audit-county").value,
    since: since ? since + "T00:00:00+08:00" : null,
    until: until ? until + "T23:59:59+08:00" : null,
    limit: AUDIT_PAGE,
    offset: state.auditOffset,
  };
  try {
    const body = await api("/api/audit", { params: params });
    await auditNames(body.items);
    state.auditTotal = body.total;
    const tbody = clear($("audit").querySelector("tbody"));
    body.items.forEach(function (a) {
      const shown = 10;
      const changes = (a.changes || []).slice(0, shown).map((c) => el("div", null, auditChange(a, c)));
      if ((a.changes || []).length > shown) changes.push(el("div", { class: "note" }, "另有 " + (a.changes.length - shown) + " 项"));
      const note = a.note ? String(a.note).split(" / ")[0] : null;
      tbody.appendChild(
        el("tr", { "data-entity": a.entity, "data-action": a.action, "data-id": a.entity_id }, [
          el("td", { class: "when" }, chinaDateTime(a.at)),
          el("td", null, [a.actor, el("div", { class: "note" }, ROLE_LABELS[a.role] || (a.role ? a.role : "未登录"))]),
          el("td", null, ACTION[a.action] || a.action),
          el("td", null, [auditObject(a), a.county_code ? el("div", { class: "note" }, state.countyName[a.county_code] || a.county_code) : null]),
          el("td", null, changes.concat(note ? [el("div", { class: "note" }, "说明：" + note)] : [])),
        ])
      );
    });
    const end = state.auditOffset + body.items.length;
    say("audit-note", body.total ? "共 " + body.total + " 条，显示第 " + (state.auditOffset + 1) + "–" + end + " 条（最新在前）。" : "没有符合条件的记录。");
    $("audit-prev").disabled = state.auditOffset === 0;
    $("audit-next").disabled = end >= body.total;
  } catch (error) {
    clear($("audit").querySelector("tbody"));
    fail("audit-note")(error);
  }
}

// ---------------------------------------------------------------- start

function onTab(id) {
  state.tab = id;
  if (!state.ready) return;
  if (id === "tab-accounts" && !state.users.length) loadUsers().catch(fail("users-result"));
  if (id === "tab-audit" && !state.auditTotal) loadAudit(0);
}

function wire() {
  $("approve").addEventListener("click", () => decide("approve"));
  $("return").addEventListener("click", () => decide("return"));
  $("users-role").addEventListener("change", () => loadUsers().catch(fail("users-result")));
  $("users-active").addEventListener("change", () => loadUsers().catch(fail("users-result")));
  document.querySelectorAll("input[name=role]").forEach((r) => r.addEventListener("change", () => fillPoints().catch(fail("user-result"))));
  $("new-county").addEventListener("change", () => fillPoints().catch(fail("user-result")));
  $("user-form").addEventListener("submit", createUser);
  $("audit-form").addEventListener("submit", function (event) {
    event.preventDefault();
    loadAudit(0);
  });
  $("audit-prev").addEventListener("click", () => loadAudit(state.auditOffset - AUDIT_PAGE));
  $("audit-next").addEventListener("click", () => loadAudit(state.auditOffset + AUDIT_PAGE));
}

async function start() {
  tabs(document.querySelector(".tabs"), onTab);
  options($("users-role"), ["county_planner", "village_agent", "municipal"].map((k) => [k, ROLE_LABELS[k]]), "全部");
  options($("audit-entity"), Object.keys(ENTITY).map((k) => [k, ENTITY[k]]), "全部");
  options($("audit-action"), Object.keys(ACTION).map((k) => [k, ACTION[k]]), "全部");
  try {
    await requireRole("municipal");
    const [counties, campaigns] = await Promise.all([
      api("/api/divisions", { params: { level: "county", limit: 100 }, auth: false }),
      api("/api/coverage/campaigns", { auth: false }),
    ]);
    state.counties = counties.items;
    counties.items.forEach((c) => (state.countyName[c.code] = c.name));
    campaigns.items.forEach((c) => (state.campaigns[c.code] = c.name));
    const pairs = counties.items.map((c) => [c.code, c.name]);
    options($("new-county"), pairs, "请选择");
    options($("audit-county"), pairs, "全部");
    wire();
    await loadQueue();
    state.ready = true;
    onTab(state.tab);
    say("status", "待审核 " + state.queue.length + " 个规划。", "ok");
    document.body.setAttribute("data-ready", "true");
  } catch (error) {
    say("status", "加载失败：" + error.message, "bad");
  }
}

start();
