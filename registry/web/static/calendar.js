/* 节假日安排 — the municipal centre's part of the working-day calendar (municipal page).
 *
 * Lists the years whose official holiday arrangement is known (entered here, or built into the
 * system's calendar), warns when next year's is missing (due dates in it are then provisional),
 * and enters a year: holidays one per line ("2027-01-01 元旦"), make-up working days one per
 * line. The server checks the arrangement whole and recomputes the open cases' due dates.
 */
import { $, api, clear, whenReady, el, say } from "/static/common.js";

const SOURCE = { registry: "本系统录入", library: "内置日历" };
const box = $("calendar");
let known = [];

function text(id, value) {
  const node = $(id);
  if (node) node.textContent = value;
}

function build() {
  clear(box);
  box.appendChild(el("h2", { id: "calendar-heading" }, "节假日安排"));
  box.appendChild(
    el("p", { class: "note" }, "办结期限按工作日计算。某年的节假日安排未知时，落在该年的期限只按周末计算，代办员页面标为“（预计）”；录入后，未办结事项的期限随即重算。")
  );
  box.appendChild(el("p", { id: "calendar-warning", class: "status bad", role: "alert", hidden: true }));
  box.appendChild(
    el("div", { class: "scroll" }, [
      el("table", { id: "calendar-years", class: "data" }, [
        el("thead", null, el("tr", null, ["年份", "来源", "节假日", "调休上班日", "录入"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody"),
      ]),
    ])
  );
  const form = el("form", { id: "calendar-form", novalidate: true, autocomplete: "off" }, [
    el("h3", null, "录入一年的安排"),
    el("div", { class: "field" }, [
      el("label", { for: "calendar-year" }, "年份"),
      el("input", { id: "calendar-year", type: "number", min: 2004, max: 2049, required: true, inputmode: "numeric" }),
    ]),
    el("div", { class: "field" }, [
      el("label", { for: "calendar-holidays" }, "节假日（每行一天：日期 名称，如 2027-01-01 元旦）"),
      el("textarea", { id: "calendar-holidays", rows: 8, spellcheck: "false" }),
    ]),
    el("div", { class: "field" }, [
      el("label", { for: "calendar-workdays" }, "调休上班日（每行一个日期，须为周六或周日）"),
      el("textarea", { id: "calendar-workdays", rows: 3, spellcheck: "false" }),
    ]),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "primary", id: "calendar-save" }, "保存安排")),
    el("p", { id: "calendar-status", class: "status", role: "status", "aria-live": "polite" }),
  ]);
  box.appendChild(form);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    save().catch((e) => say("calendar-status", "保存失败：" + e.message, "bad"));
  });
  $("calendar-year").addEventListener("change", fill);
}

function fill() {
  const year = Number($("calendar-year").value);
  const found = known.find((y) => y.year === year && y.source === "registry");
  $("calendar-holidays").value = found ? found.holidays.map((h) => h.date + " " + h.name).join("\n") : "";
  $("calendar-workdays").value = found ? found.workdays.join("\n") : "";
}

function show(body) {
  known = body.years;
  const warning = $("calendar-warning");
  warning.hidden = !body.next_year_missing;
  text(
    "calendar-warning",
    body.next_year_missing
      ? "尚未录入 " + body.next_year + " 年的节假日安排：落在该年的办结期限为预计。国务院办公厅公布后请在下方录入。"
      : ""
  );
  // Seen from every tab: the tab itself says a year is missing.
  const badge = $("calendar-badge");
  if (badge) {
    badge.hidden = !body.next_year_missing;
    badge.textContent = body.next_year_missing ? "缺 " + body.next_year + " 年" : "";
  }
  const tbody = $("calendar-years").querySelector("tbody");
  clear(tbody);
  known
    .slice()
    .reverse()
    .slice(0, 6)
    .forEach(function (y) {
      tbody.appendChild(
        el("tr", { "data-year": String(y.year) }, [
          el("td", null, y.year + " 年"),
          el("td", null, SOURCE[y.source] || "—"),
          el("td", { class: "num" }, y.holidays.length + " 天"),
          el("td", { class: "num" }, y.workdays.length + " 天"),
          el("td", null, y.updated_by ? y.updated_by + "（" + String(y.updated_at).slice(0, 10) + "）" : "—"),
        ])
      );
    });
  if (!$("calendar-year").value) {
    $("calendar-year").value = String(body.next_year_missing ? body.next_year : body.current_year + 1);
    fill();
  }
}

const DATE = /^(\d{4}-\d{2}-\d{2})\s*(.*)$/;

function parse() {
  const problems = [];
  const holidays = [];
  $("calendar-holidays")
    .value.split(/\n/)
    .map((l) => l.normalize("NFKC").trim())
    .filter(Boolean)
    .forEach(function (line, i) {
      const m = DATE.exec(line);
      if (!m) problems.push("节假日第 " + (i + 1) + " 行应为“日期 名称”，如 2027-01-01 元旦");
      else holidays.push({ date: m[1], name: m[2].trim() });
    });
  const workdays = [];
  $("calendar-workdays")
    .value.split(/[\n,，、\s]+/)
    .map((l) => l.normalize("NFKC").trim())
    .filter(Boolean)
    .forEach(function (line) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(line)) problems.push("调休上班日“" + line + "”应为日期，如 2027-02-06");
      else workdays.push(line);
    });
  return { problems: problems, body: { holidays: holidays, workdays: workdays } };
}

async function save() {
  const year = Number($("calendar-year").value);
  if (!year) {
    say("calendar-status", "请填写年份。", "bad");
    return;
  }
  const parsed = parse();
  if (parsed.problems.length) {
    say("calendar-status", parsed.problems.join("；"), "bad");
    return;
  }
  say("calendar-status", "正在保存…", "busy");
  try {
    const saved = await api("/api/calendar/" + year, { method: "PUT", json: parsed.body, timeout: 30000 });
    say(
      "calendar-status",
      "已保存 " + year + " 年的节假日安排" + (saved.cases_recomputed ? "，" + saved.cases_recomputed + " 件未办结事项的办结期限已重算。" : "。"),
      "ok"
    );
  } catch (error) {
    const lines = ((error.body && error.body.errors) || []).map((e) => String(e.message || "").split(" / ")[0]);
    say("calendar-status", "未保存：" + (lines.length ? lines.join("；") : error.message), "bad");
    return;
  }
  await load();
}

async function load() {
  show(await api("/api/calendar", { auth: false, timeout: 15000 }));
}

// Built and loaded once the page has signed in as the municipal centre (nothing is asked of
// the API on a wrong-role page).
whenReady().then(function () {
  build();
  load().catch((e) => say("calendar-status", "节假日安排加载失败：" + e.message, "bad"));
});
