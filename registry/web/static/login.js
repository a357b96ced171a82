/* Sign-in: POST /api/auth/token, keep the token in sessionStorage, go to the role's page. */
import { $, HOME, api, el, saveSession, say, token, who } from "/static/common.js";
import { ROLE_LABELS } from "/static/vocab.js";

// Only a path of our own work pages may be the destination (no open redirect).
function destination(role) {
  const next = new URLSearchParams(window.location.search).get("next") || "";
  const home = HOME[role] || "/";
  if (next.charAt(0) === "/" && next.charAt(1) !== "/" && next.split(/[?#]/)[0] === home) return next;
  return home;
}

function start() {
  const session = who();
  if (token() && session) {
    const note = $("signed-in");
    note.hidden = false;
    note.textContent = "已登录：" + session.username + "（" + (ROLE_LABELS[session.role] || session.role) + "）。";
    note.appendChild(el("a", { href: HOME[session.role] || "/" }, "进入工作台"));
  }
  $("login-form").addEventListener("submit", async function (event) {
    event.preventDefault();
    const username = $("username").value.trim();
    const password = $("password").value;
    say("login-error", "");
    if (!username || !password) {
      say("login-error", "请输入用户名和密码", "bad");
      return;
    }
    const button = $("login-submit");
    button.disabled = true;
    try {
      const body = await api("/api/auth/token", {
        json: { username: username, password: password },
        auth: false,
      });
      saveSession(body, username);
      window.location.assign(destination(body.role));
      button.disabled = false;
    } catch (error) {
      say("login-error", error.message, "bad");
      $("password").value = "";
      if (error.status === 429) {
        // The server names the wait in minutes; the button waits as long (Retry-After).
        const seconds = Number(error.body.retry_after) || 60;
        setTimeout(function () {
          button.disabled = false;
          say("login-error", "可以再次登录。", "");
        }, seconds * 1000);
        return;
      }
      button.disabled = false;
      $("password").focus();
    }
  });
  $("username").focus();
}

start();
