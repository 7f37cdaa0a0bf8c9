// The chat at /chat: messages arrive over a WebSocket and are added to the list; the form
// sends over the socket while it is open, and posts as a plain form (with its XSRF field) when
// it is not. A dropped connection (a restart, a deploy, a network change) is opened again after
// a wait that doubles up to 30 seconds, with jitter; on opening, the server sends the last
// messages, so nothing posted meanwhile is missed. No framework, no dependency.
(function () {
  "use strict";
  var list = document.getElementById("chat-messages");
  var form = document.getElementById("chat-form");
  if (!list || !form) {
    return;
  }
  var input = form.elements.body;
  var status = document.getElementById("chat-status");
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host +
    list.getAttribute("data-socket");
  var socket = null;
  var wait = 500;
  var MAX_WAIT = 30000;
  var SHOWN = 50;

  function say(text) {
    status.textContent = text;
  }

  // textContent, never innerHTML: what people write stays text.
  function show(message) {
    var empty = list.querySelector(".chat-empty");
    if (empty) {
      list.removeChild(empty);
    }
    var item = document.createElement("li");
    var author = document.createElement("b");
    author.textContent = message.author;
    item.appendChild(author);
    item.appendChild(document.createTextNode(" " + message.body));
    list.appendChild(item);
    while (list.children.length > SHOWN) {
      list.removeChild(list.firstChild);
    }
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = function () {
      wait = 500;
      say("");
      form.setAttribute("data-live", "");
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.history) {
        list.textContent = "";
        data.history.forEach(show);
      } else if (data.message) {
        show(data.message);
      } else if (data.error) {
        say(data.error);
      }
    };
    socket.onclose = function () {
      socket = null;
      form.removeAttribute("data-live");
      say("Reconnecting…");
      var delay = wait / 2 + Math.random() * wait / 2;
      wait = Math.min(wait * 2, MAX_WAIT);
      setTimeout(connect, delay);
    };
  }

  form.addEventListener("submit", function (event) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return; // The form posts the message.
    }
    event.preventDefault();
    var body = input.value.trim();
    if (body) {
      socket.send(body);
      input.value = "";
    }
  });

  if ("WebSocket" in window) {
    connect();
  }
})();
