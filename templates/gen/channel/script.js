// The live channel at [[ path ]], made by `torn gen channel [[ name ]]`. Messages arrive over a
// WebSocket; after three tries that never opened (a proxy that does not pass WebSockets), over
// server-sent events instead, which the browser reconnects by itself. A dropped WebSocket is
// opened again after a wait that doubles up to 30 seconds, with jitter. The form sends over
// the WebSocket while it is open, else posts in the background (or, without this script, as
// a plain form). No framework, no dependency.
(function () {
  "use strict";
  var list = document.getElementById("[[ name ]]-messages");
  var form = document.getElementById("[[ name ]]-form");
  if (!list || !form) {
    return;
  }
  var status = document.getElementById("[[ name ]]-status");
  var input = form.elements.message;
  var socketUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    list.getAttribute("data-socket");
  var socket = null;
  var failures = 0;
  var wait = 500;
  var MAX_WAIT = 30000;
  var KEPT = 100;

  // textContent, never innerHTML: what people send stays text.
  function show(text) {
    var item = document.createElement("li");
    item.textContent = text;
    list.appendChild(item);
    while (list.children.length > KEPT) {
      list.removeChild(list.firstChild);
    }
  }

  function live(how) {
    status.textContent = "";
    form.setAttribute("data-live", how);
  }

  function connect() {
    var opened = false;
    socket = new WebSocket(socketUrl);
    socket.onopen = function () {
      opened = true;
      failures = 0;
      wait = 500;
      live("websocket");
    };
    socket.onmessage = function (event) {
      show(event.data);
    };
    socket.onclose = function () {
      socket = null;
      form.removeAttribute("data-live");
      if (!opened && ++failures >= 3) {
        listen();
        return;
      }
      status.textContent = "Reconnecting…";
      var delay = wait / 2 + Math.random() * wait / 2;
      wait = Math.min(wait * 2, MAX_WAIT);
      setTimeout(connect, delay);
    };
  }

  function listen() {
    var events = new EventSource(list.getAttribute("data-events"));
    events.onopen = function () {
      live("events");
    };
    events.onmessage = function (event) {
      show(event.data);
    };
    events.addEventListener("lagged", function () {
      show("(some messages were missed)");
    });
  }

  form.addEventListener("submit", function (event) {
    if (!form.hasAttribute("data-live")) {
      return; // Not connected: the form posts, and the page reloads.
    }
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      return;
    }
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(text);
    } else {
      // The form's fields, its XSRF token among them.
      fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) });
    }
    input.value = "";
  });

  if ("WebSocket" in window) {
    connect();
  } else {
    listen();
  }
})();
