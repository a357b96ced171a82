/* Service worker of the residents' search page (served at /find-sw.js, scope /find).
 *
 * Keeps the page and its two files (cache first: instant on a weak signal) and the answers of
 * /api/find the resident has seen (network first, the cached copy when offline), so the page
 * opens and shows earlier results without a connection. The server fills in the shell
 * (registry/residents/api.py FIND_SHELL) and a hash of those files as the cache name, so a new
 * release replaces old copies. Nothing personal is kept: the answers are public facts.
 */
"use strict";

const VERSION = "__SHELL_VERSION__";
const CACHE = "registry-find-" + VERSION;
const SHELL = ["__SHELL__"];
const NETWORK_WAIT_MS = 5000;
const MAX_ANSWERS = 60;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return cache.addAll(
          SHELL.map(function (url) {
            return new Request(url, { cache: "reload" });
          })
        );
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("registry-find-") === 0 && name !== CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

function withTimeout(promise, ms) {
  return new Promise(function (resolve, reject) {
    const timer = setTimeout(function () {
      reject(new Error("timeout"));
    }, ms);
    promise.then(
      function (value) {
        clearTimeout(timer);
        resolve(value);
      },
      function (error) {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

function trim(cache) {
  return cache.keys().then(function (keys) {
    const answers = keys.filter(function (r) {
      return new URL(r.url).pathname === "/api/find";
    });
    return Promise.all(
      answers.slice(0, Math.max(0, answers.length - MAX_ANSWERS)).map(function (r) {
        return cache.delete(r);
      })
    );
  });
}

function networkFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return withTimeout(fetch(request), NETWORK_WAIT_MS)
      .then(function (response) {
        if (response.ok) {
          cache.put(request, response.clone()).then(function () {
            return trim(cache);
          });
        }
        return response;
      })
      .catch(function () {
        return cache.match(request).then(function (hit) {
          if (hit) return hit;
          return new Response(
            JSON.stringify({
              status: 503,
              code: "offline",
              detail_zh: "现在没有网络，这个查询以前没有查过。请联网后再试。",
              detail_en: "offline, and this search was not made before",
            }),
            { status: 503, headers: { "Content-Type": "application/json" } }
          );
        });
      });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname === "/api/find") {
    event.respondWith(networkFirst(request));
    return;
  }
  const shell = url.pathname === "/find" ? "/find" : url.pathname;
  if (SHELL.indexOf(shell) >= 0) {
    // The page with any ?q= is the same page: answer from the cache, refresh in the background.
    event.respondWith(
      caches.open(CACHE).then(function (cache) {
        return cache.match(shell).then(function (hit) {
          const fresh = fetch(new Request(shell, { cache: "no-cache" }))
            .then(function (response) {
              if (response.ok) cache.put(shell, response.clone());
              return response;
            })
            .catch(function () {
              return hit;
            });
          return hit || fresh;
        });
      })
    );
  }
});
