// The network pane: a Mastodon-like timeline of the sandbox server, threads with the
// brand's replies under the posts they answer, and a form to post as a customer.
"use strict";

(() => {
  const { ui, el } = Demo;
  const timeline = document.getElementById("timeline");
  const form = document.getElementById("post-form");
  const customerSelect = document.getElementById("customer");
  const text = document.getElementById("post-text");
  const mention = document.getElementById("mention");
  const privately = document.getElementById("private");
  const count = document.getElementById("post-count");
  // @user, @user@server, #tag and http(s) links: shown as such, never as markup.
  const ENTITY =
    /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)\]'])|(@[\w.-]+(?:@[\w-]+(?:\.[\w-]+)+(?::\d+)?)?)|(#[\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)/gu;
  let network = null;

  function render(state) {
    network = state.network;
    fillCustomers();
    document.getElementById("net-server").textContent = network.server;
    const handle = "@" + network.accounts[network.brand].acct;
    document.getElementById("brand-handle").textContent = handle;
    if (ui.replyTo && !network.statuses.some((s) => s.id === ui.replyTo)) clearReply();
    const top = timeline.scrollTop;
    timeline.replaceChildren(...threads());
    timeline.scrollTop = top;
  }

  function fillCustomers() {
    if (customerSelect.options.length) return;
    for (const id of network.customers) {
      const account = network.accounts[id];
      const option = new Option(`${account.display_name} (@${account.acct.split("@")[0]})`, account.acct);
      option.title = "@" + account.acct;
      customerSelect.append(option);
    }
  }

  function threads() {
    const byId = new Map(network.statuses.map((s) => [s.id, s]));
    const children = new Map();
    const roots = [];
    for (const status of network.statuses) {
      if (status.in_reply_to_id && byId.has(status.in_reply_to_id)) {
        if (!children.has(status.in_reply_to_id)) children.set(status.in_reply_to_id, []);
        children.get(status.in_reply_to_id).push(status);
      } else {
        roots.push(status);
      }
    }
    const flatten = (status, depth, into) => {
      into.push([status, depth]);
      for (const child of children.get(status.id) || []) flatten(child, Math.min(depth + 1, 3), into);
      return into;
    };
    const groups = roots.map((root) => flatten(root, 0, []));
    const latest = (group) => Math.max(...group.map(([s]) => Date.parse(s.created_at)));
    groups.sort((a, b) => latest(b) - latest(a));
    if (!groups.length) {
      return [el("p", "empty", "Nobody has posted yet. Write a post above as one of the customers.")];
    }
    return groups.map((group) => el("div", "thread-group", ...group.map(([s, depth]) => toot(s, depth, byId))));
  }

  function toot(status, depth, byId) {
    const account = network.accounts[status.account] || { acct: "?", display_name: "?" };
    const node = el("article", "toot" + (status.brand ? " brand" : "") + (status.id === ui.highlight ? " highlight" : ""));
    node.dataset.statusId = status.id;
    node.dataset.testid = status.brand ? "brand-reply" : "toot";
    node.style.marginLeft = `${depth * 22}px`;
    const parent = status.in_reply_to_id && byId.get(status.in_reply_to_id);
    const head = el("div", "toot-head",
      el("span", "display-name", account.display_name),
      el("span", "acct", "@" + account.acct),
      status.visibility === "direct" ? el("span", "badge private", "🔒 private mention") : null,
      el("span", "time", Demo.clock(Date.parse(status.created_at) / 1000)));
    const replyLine = parent
      ? el("div", "in-reply", "↩ in reply to @" + (network.accounts[parent.account] || { acct: "?" }).acct)
      : null;
    const reply = el("button", "link-button toot-reply", "↩ Reply");
    reply.type = "button";
    reply.dataset.testid = "toot-reply";
    reply.addEventListener("click", () => replyTo(status, byId));
    node.append(Demo.avatar(account.acct, account.display_name, status.brand ? "brand" : ""),
      el("div", "toot-body", head, replyLine, entities(status.text), el("div", "toot-tools", reply)));
    return node;
  }

  function entities(value) {
    const body = el("div", "toot-text");
    let last = 0;
    for (const match of value.matchAll(ENTITY)) {
      body.append(value.slice(last, match.index));
      if (match[1] && Mrkdwn.safeUrl(match[1])) {
        const link = el("a", "link", match[1]);
        link.href = Mrkdwn.safeUrl(match[1]);
        link.target = "_blank";
        link.rel = "noopener noreferrer nofollow";
        body.append(link);
      } else {
        body.append(el("span", match[2] ? "mention" : "hashtag", match[0]));
      }
      last = match.index + match[0].length;
    }
    body.append(value.slice(last));
    return body;
  }

  function replyTo(status, byId) {
    ui.replyTo = status.id;
    let root = status;
    while (root.in_reply_to_id && byId.get(root.in_reply_to_id)) root = byId.get(root.in_reply_to_id);
    const asker = [status, root].find((s) => !s.brand);
    if (asker) customerSelect.value = network.accounts[asker.account].acct;
    privately.checked = status.visibility === "direct";
    const account = network.accounts[status.account];
    const preview = status.text.length > 60 ? status.text.slice(0, 60) + "…" : status.text;
    document.getElementById("reply-to-text").textContent = `Replying to @${account.acct}: ${preview}`;
    document.getElementById("reply-to").hidden = false;
    text.focus();
  }

  function clearReply() {
    ui.replyTo = null;
    document.getElementById("reply-to").hidden = true;
  }

  /** Point at the post whose URL this is; false when it is not one of ours. */
  function show(url) {
    const status = network && network.statuses.find((s) => s.url === url);
    if (!status) return false;
    ui.highlight = status.id;
    Demo.redraw();
    const node = timeline.querySelector(`[data-status-id="${CSS.escape(status.id)}"]`);
    if (node) node.scrollIntoView({ block: "center", behavior: "smooth" });
    setTimeout(() => {
      if (ui.highlight === status.id) {
        ui.highlight = null;
        Demo.redraw();
      }
    }, 2500);
    return true;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!text.value.trim()) return;
    const result = await Demo.api("/api/customer/post", {
      customer: customerSelect.value,
      text: text.value,
      in_reply_to_id: ui.replyTo,
      mention: mention.checked,
      private: privately.checked,
    });
    if (result) {
      text.value = "";
      count.textContent = "500";
      privately.checked = false;
      clearReply();
    }
  });
  text.addEventListener("input", () => { count.textContent = String(500 - [...text.value].length); });
  document.getElementById("reply-to-clear").addEventListener("click", clearReply);
  timeline.addEventListener("click", (event) => {
    const link = event.target.closest("a.link");
    if (link && show(link.href)) event.preventDefault();
  });

  Demo.Network = { show };
  Demo.register({ render });
})();
