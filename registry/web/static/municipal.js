/* 审核与管理 — the municipal centre's page: the plan review queue (approve / return with a
 * comment, diff against the previous version), accounts (create planners and agents, disable,
 * enable) and the audit trail.
 */
import {
  $, api, chinaDateTime, clear, el, errorLines, options, PLAN_STATE, requireRole, say, tabs,
} from "/static/common.js";
import { PLAN_TARGET_LABELS, POINT_KINDS, ROLE_LABELS, STATUS_LABELS } from "/static/vocab.js";

const AUDIT_PAGE = 50;
const ENTITY = { site: "站点", plan: "规划", case: "代办事项", account: "账号", matter: "事项目录" };
const ACTION = {
  create: "新建",
  update: "修改",
  status: "状态变更",
  submit: "提交",
  approve: "批准",
  return: "退回",
  amend: "修订",
  supersede: "被替代",
};
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
  if (Object.keys(plan.missing_explained || {}).length) {
    body.appendChild(el("h3", null, "不纳入规划的区划"));
    const ul = el("ul", { class: "note" });
    Object.keys(plan.missing_explained).forEach((code) => ul.appendChild(el("li", null, code + "：" + plan.missing_explained[code])));
    body.appendChild(ul);
  }
  await renderDiff(body, plan, versions.items);
  body.appendChild(el("h3", null, "审核记录"));
  const reviews = el("ul", { class: "list", id: "detail-reviews" });
  const label = { submit: "提交", approve: "批准", return: "退回" };
  plan.reviews.forEach(function (r) {
    reviews.appendChild(el("li", { class: "item" }, [el("div", { class: "meta" }, chinaDateTime(r.at) + " · " + r.actor + " · " + (label[r.action] || r.action)), el("div", null, r.comment || "（无说明）")]));
  });
  if (!plan.reviews.length) reviews.appendChild(el("li", { class: "note" }, "暂无。"));
  body.appendChild(reviews);
  body.appendChild(el("h3", null, "规划明细（前 100 项）"));
  const table = el("table", { class: "data", id: "detail-items" }, [
    el("thead", null, el("tr", null, ["区划", "建设目标", "目标日期", "预算(元)"].map((h) => el("th", { scope: "col" }, h)))),
  ]);
  const tbody = el("tbody");
  plan.items.slice(0, 100).forEach(function (i) {
    tbody.appendChild(el("tr", null, [el("td", null, i.division_name), el("td", null, PLAN_TARGET_LABELS[i.target] || i.target), el("td", null, i.target_date), el("td", { class: "num" }, i.budget_yuan === null ? "—" : String(i.budget_yuan))]));
  });
  table.appendChild(tbody);
  body.appendChild(el("div", { class: "scroll tall" }, table));
  $("review-form").hidden = plan.state !== "submitted";
}

// The version before this one (the one it amends, else the previous number).
async function renderDiff(body, plan, versions) {
  const earlier = versions.filter((v) => v.version < plan.version).sort((a, b) => b.version - a.version);
  const base = earlier.find((v) => v.id === plan.amends) || earlier[0];
  const box = el("div", { id: "diff" });
  body.appendChild(el("h3", null, "与上一版本比较"));
  body.appendChild(box);
  if (!base) {
    box.appendChild(el("p", { class: "note" }, "这是第一版，没有可比较的版本。"));
    return;
  }
  const diff = await api("/api/plans/" + base.id + "/compare", { params: { with: plan.id } });
  box.appendChild(
    el("p", { class: "note", id: "diff-summary" }, "对比第 " + diff.base.version + " 版：新增 " + diff.added.length + " 项，删除 " + diff.removed.length + " 项，修改 " + diff.changed.length + " 项，未变 " + diff.unchanged + " 项" + (diff.title_changed ? "；标题已改" : "") + "。")
  );
  const list = el("ul", { class: "list" });
  diff.added.forEach((i) => list.appendChild(el("li", { class: "ok" }, "＋ " + i.division_name)));
  diff.removed.forEach((i) => list.appendChild(el("li", { class: "bad" }, "－ " + i.division_name)));
  diff.changed.forEach(function (i) {
    list.appendChild(
      el("li", { class: "warn" }, "～ " + i.division_name + "：" + i.changes.map((c) => (FIELD[c.field] || c.field) + " " + fmt(PLAN_TARGET_LABELS[c.before] || c.before) + " → " + fmt(PLAN_TARGET_LABELS[c.after] || c.after)).join("；"))
    );
  });
  box.appendChild(el("div", { class: "scroll tall" }, list));
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
        el("td", null, u.role === "municipal" ? "—" : toggle),
      ])
    );
  });
  $("users-count").textContent = "共 " + body.total + " 个";
}

function scopeText(u) {
  if (u.role === "village_agent") return "代办点 " + u.scope;
  return state.countyName[u.scope] || u.scope;
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
    points.map((s) => [String(s.id), s.standard_name + "（" + (STATUS_LABELS[s.status] || s.status) + "，编号 " + s.id + "）"]),
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

async function loadAudit(offset) {
  state.auditOffset = Math.max(0, offset || 0);
  const since = $("audit-since").value;
  const until = $("audit-until").value;
  const params = {
    entity: $("audit-entity").value,
    entity_id: $("audit-entity-id").value.trim(),
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
    state.auditTotal = body.total;
    const tbody = clear($("audit").querySelector("tbody"));
    body.items.forEach(function (a) {
      const changes = (a.changes || []).slice(0, 6).map((c) => el("div", null, c.field + "：" + fmt(c.before) + " → " + fmt(c.after)));
      if ((a.changes || []).length > 6) changes.push(el("div", { class: "note" }, "另有 " + (a.changes.length - 6) + " 项"));
      tbody.appendChild(
        el("tr", { "data-entity": a.entity, "data-action": a.action }, [
          el("td", null, chinaDateTime(a.at)),
          el("td", null, [a.actor, el("div", { class: "note" }, ROLE_LABELS[a.role] || a.role)]),
          el("td", null, ACTION[a.action] || a.action),
          el("td", null, [(ENTITY[a.entity] || a.entity) + " " + a.entity_id, a.county_code ? el("div", { class: "note" }, state.countyName[a.county_code] || a.county_code) : null]),
          el("td", null, changes.concat(a.note ? [el("div", { class: "note" }, "说明：" + a.note)] : [])),
        ])
      );
    });
    const end = state.auditOffset + body.items.length;
    say("audit-note", body.total ? "共 " + body.total + " 条，显示第 " + (state.auditOffset + 1) + "–" + end + " 条（最新在前）。" : "没有符合条件的记录。");
    $("audit-prev").disabled = state.auditOffset === 0;
    $("audit-next").disabled = end >= body.total;
  } catch (error) {
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
