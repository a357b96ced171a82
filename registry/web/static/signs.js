/* 标识牌更换 — how many sign plates each county still has to replace (municipal page).
 *
 * Its own block of municipal.html (#signs). GET /api/signs/summary gives, per county, the sites
 * that need a plate (built, in service or suspended), how many carry the standard name, how
 * many have none reported and how many a wrong one; each county row downloads that county's
 * order: every plate as PDF pages at real size, and the order sheet (xlsx).
 */
import { $, api, clear, whenReady, download, el, options, say } from "/static/common.js";
import { STATUS_LABELS as S } from "/static/vocab.js";

const box = $("signs");

function cell(text, numeric) {
  return el("td", numeric ? { class: "num" } : null, String(text));
}

function build() {
  clear(box);
  box.appendChild(el("h2", { id: "signs-heading" }, "标识牌更换"));
  box.appendChild(
    el("p", { class: "note" }, `${S.built}、${S.in_service}或${S.suspended}的站点都应挂统一标识牌；未报告标识或名称不规范的需要更换。${S.planned}和${S.closed}的站点不计。`)
  );
  box.appendChild(
    el("div", { class: "field" }, [el("label", { for: "signs-layout" }, "下载版式"), el("select", { id: "signs-layout" })])
  );
  options($("signs-layout"), [
    ["horizontal", "横版 1200×400 毫米"],
    ["vertical", "竖版 400×1200 毫米"],
  ]);
  box.appendChild(
    el("div", { class: "scroll" }, [
      el("table", { id: "signs-table", class: "data" }, [
        el("caption", { class: "note" }, "各县（市、区）标识牌情况"),
        el(
          "thead",
          null,
          el(
            "tr",
            null,
            ["县（市、区）", "应挂牌站点", "已规范", "未报告", "不规范", "待更换", "下载"].map((h) => el("th", { scope: "col" }, h))
          )
        ),
        el("tbody"),
        el("tfoot"),
      ]),
    ])
  );
  box.appendChild(el("p", { id: "signs-status", class: "status", role: "status", "aria-live": "polite" }));
}

function fetchOrder(county, name, kind) {
  const path = "/api/signs/orders." + kind;
  say("signs-status", "正在生成" + name + "的" + (kind === "pdf" ? "标识牌" : "订制清单") + "…", "busy");
  download(path, { county: county, layout: $("signs-layout").value }, "标识牌." + kind)
    .then((saved) => say("signs-status", "已下载：" + saved, "ok"))
    .catch((e) => say("signs-status", "下载失败：" + e.message, "bad"));
}

async function load() {
  const body = await api("/api/signs/summary");
  const tbody = $("signs-table").querySelector("tbody");
  const tfoot = $("signs-table").querySelector("tfoot");
  clear(tbody);
  clear(tfoot);
  body.items.forEach(function (c) {
    const pdf = el("button", { type: "button", class: "small", disabled: c.to_replace === 0 }, "标识牌 PDF");
    const xlsx = el("button", { type: "button", class: "small", disabled: c.to_replace === 0 }, "订制清单");
    pdf.addEventListener("click", () => fetchOrder(c.county_code, c.county_name, "pdf"));
    xlsx.addEventListener("click", () => fetchOrder(c.county_code, c.county_name, "xlsx"));
    tbody.appendChild(
      el("tr", { "data-county": c.county_code }, [
        el("th", { scope: "row" }, c.county_name),
        cell(c.sites, true),
        cell(c.conforming, true),
        cell(c.missing, true),
        cell(c.nonconforming, true),
        el("td", { class: "num" }, el("strong", null, String(c.to_replace))),
        el("td", null, [pdf, " ", xlsx]),
      ])
    );
  });
  if (!body.items.length) {
    tbody.appendChild(el("tr", null, el("td", { colspan: 7 }, "暂无应挂牌的站点。")));
  }
  tfoot.appendChild(
    el("tr", null, [
      el("th", { scope: "row" }, "合计"),
      cell(body.sites, true),
      el("td", { colspan: 3 }),
      el("td", { class: "num", id: "signs-total" }, el("strong", null, String(body.to_replace))),
      el("td"),
    ])
  );
  say("signs-status", "全市待更换标识牌 " + body.to_replace + " 块。");
}

// Built and loaded once the page has signed in as the municipal centre (nothing is asked of
// the API on a wrong-role page).
whenReady().then(function () {
  build();
  load().catch((e) => say("signs-status", "加载失败：" + e.message, "bad"));
});
