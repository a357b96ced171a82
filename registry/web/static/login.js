/* Sign-in: POST /api/auth/token, keep the token in sessionStorage, go to the role's page. */
(function () {
  "use strict";
  const R = window.Registry;

  // Only a path of our own work pages may be the destination (no open redirect).
  function destination(role) {
    const next = new URLSearchParams(window.location.search).get("next") || "";
    const home = R.HOME[role] || "/";
    if (next.charAt(0) === "/" && next.charAt(1) !== "/" && next.split(/[?#]/)[0] === home) return next;
    return home;
  }

  function start() {
    const who = R.who();
    if (R.token() && who) {
      const note = R.$("signed-in");
      note.hidden = false;
      note.textContent = "已登录：" + who.username + "（" + (R.ROLE[who.role] || who.role) + "）。";
      note.appendChild(R.el("a", { href: R.HOME[who.role] || "/" }, "进入工作台"));
    }
    R.$("login-form").addEventListener("submit", async function (event) {
      event.preventDefault();
      const username = R.$("username").value.trim();
      const password = R.$("password").value;
      R.say("login-error", "");
      if (!username || !password) {
        R.say("login-error", "请输入用户名和密码", "bad");
        return;
      }
      const button = R.$("login-submit");
      button.disabled = true;
      try {
        const body = await R.api("/api/auth/token", {
          json: { username: username, password: password },
          auth: false,
        });
        R.saveSession(body, username);
        window.location.assign(destination(body.role));
      } catch (error) {
        R.say("login-error", error.message, "bad");
        R.$("password").value = "";
        R.$("password").focus();
      } finally {
        button.disabled = false;
      }
    });
    R.$("username").focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
