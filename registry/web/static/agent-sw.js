/* Service worker of the agent page (served at /agent-sw.js, scope /agent).
 *
 * Keeps the page and its assets (cache first: instant on a weak signal) and the matter catalogue
 * (network first, the cached copy when offline or slow) for use without a connection. Case data
 * is never cached here: the page keeps its own records in IndexedDB. The server fills in the
 * shell (the page and every module it imports: registry/web/pages.py AGENT_SHELL) and a hash of
 * those files as the cache name, so a new release replaces old copies.
 */
"use strict";

const VERSION = "__SHELL_VERSION__";
const CACHE = "registry-agent-" + VERSION;
const SHELL = ["__SHELL__"];
const MATTERS = "/api/matters";
// On a weak signal, wait this long for the network before answering from the cache.
const NETWORK_WAIT_MS = 4000;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        // "reload": fresh copies from the server, not from the HTTP cache.
        return cache.addAll(
          SHELL.concat([MATTERS]).map(function (url) {
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
              return name.indexOf("registry-agent-") === 0 && name !== CACHE;
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

// The shell: from the cache (it is replaced as a whole when a new release changes VERSION).
function cacheFirst(request, key) {
  return caches.match(key).then(function (cached) {
    return cached || fetch(request);
  });
}

// Network first (fresh when online), the cached copy when offline or too slow.
function networkFirst(request, key) {
  const fetched = fetch(request).then(function (response) {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then(function (cache) {
        cache.put(key, copy);
      });
    }
    return response;
  });
  return withTimeout(fetched, NETWORK_WAIT_MS).catch(function () {
    return caches.match(key).then(function (cached) {
      return cached || fetched;
    });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (SHELL.indexOf(url.pathname) >= 0) {
    event.respondWith(cacheFirst(request, url.pathname));
  } else if (url.pathname === MATTERS && url.search === "") {
    event.respondWith(networkFirst(request, MATTERS));
  }
});
