// The Slack pane: the #social channel with the bot's cards, a thread view with a reply box,
// reactions that claim and close, the card's own buttons, and /social with its answers.
"use strict";

(() => {
  const { ui, el } = Demo;
  const channelBox = document.getElementById("channel");
  const threadBox = document.getElementById("thread");
  const channelView = document.getElementById("channel-view");
  const threadView = document.getElementById("thread-view");
  const threadInput = document.getElementById("thread-input");
  const channelInput = document.getElementById("channel-input");
  const staffSelect = document.getElementById("staff");
  const ctx = { userName: (id) => Demo.userName(id) };
  const REACTION_LABELS = { eyes: "Claim", white_check_mark: "Close" };

  function render(state) {
    fillStaff(state);
    const parent = ui.thread && state.slack.messages.find((m) => m.ts === ui.thread);
    if (ui.thread && !parent) closeThread(false);
    keepScroll(channelBox, () => channelBox.replaceChildren(...channelItems(state)));
    if (parent) keepScroll(threadBox, () => threadBox.replaceChildren(...threadItems(state, parent)));
    const delay = state.settings.send_delay;
    document.getElementById("thread-hint").textContent =
      `Replies go public on Mastodon ${delay} s after you send them: edit or delete in that time ` +
      `to change your mind. Start with ${state.settings.internal_prefixes[0]} to keep a message internal.`;
  }

  function fillStaff(state) {
    if (staffSelect.options.length) return;
    for (const id of state.slack.staff) staffSelect.append(new Option(Demo.userName(id), id));
    ui.user = state.slack.staff[0];
  }

  // Follow new messages while the reader is at the bottom; otherwise stay where they are.
  // A hidden list (the channel behind an open thread) keeps its place for when it returns.
  function keepScroll(box, draw) {
    if (!box.clientHeight && box.dataset.drawn) {
      draw();
      return;
    }
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60 || !box.dataset.drawn;
    const top = box.scrollTop;
    draw();
    box.dataset.drawn = "1";
    box.scrollTop = atBottom ? box.scrollHeight : top;
  }

  function isCard(message) {
    return message.bot && message.blocks.some((b) => b.block_id === "status");
  }

  function channelItems(state) {
    const items = state.slack.messages.map((m) => ({ at: Number(m.ts), node: () => messageNode(state, m, null) }));
    for (const run of state.commands) {
      if (run.user === ui.user || run.answers.some((a) => a.public)) {
        items.push({ at: run.sent_at, node: () => commandNode(state, run) });
      }
    }
    for (const note of ui.localNotes) items.push({ at: note.at, node: () => localNote(note) });
    items.sort((a, b) => a.at - b.at);
    if (!items.length) {
      return [el("div", "empty",
        el("strong", null, "No mentions yet."),
        " Post as a customer on the right and mention @acme: the bot polls every second and " +
        "the mention appears here as a card. Reply in the card's thread to answer.")];
    }
    return items.map((item) => item.node());
  }

  function threadItems(state, parent) {
    const count = parent.replies.length;
    return [
      messageNode(state, parent, null, true),
      el("div", "thread-divider", count === 1 ? "1 reply" : `${count} replies`),
      ...parent.replies.map((reply) => messageNode(state, reply, parent)),
    ];
  }

  function messageNode(state, message, parent, inThreadHead) {
    const author = message.bot ? "socialbridge" : Demo.userName(message.user) || message.user;
    const node = el("div", "msg" + (isCard(message) ? " card" : "") + (message.bot ? " from-bot" : ""));
    node.dataset.ts = message.ts;
    if (isCard(message)) node.dataset.testid = "card";
    const head = el("div", "msg-head",
      el("span", "author", author),
      message.bot ? el("span", "app-badge", "APP") : null,
      el("span", "time", Demo.clock(Number(message.ts))),
      message.edited ? el("span", "edited", "(edited)") : null);
    const content = el("div", "msg-content");
    if (message.subtype === "tombstone") content.append(el("em", "gone", "This message was deleted."));
    else if (message.blocks.length) content.append(Mrkdwn.blocks(message.blocks, ctx));
    else content.append(Mrkdwn.render(message.text, ctx));
    const body = el("div", "msg-body", head, content);
    if (parent && !message.bot && message.subtype !== "tombstone") body.append(replyState(state, message));
    body.append(reactions(state, message));
    if (!parent && !inThreadHead && message.reply_count) {
      const open = el("button", "link-button thread-link", message.reply_count === 1 ? "1 reply" : `${message.reply_count} replies`);
      open.type = "button";
      open.addEventListener("click", () => openThread(message.ts));
      body.append(open);
    }
    body.append(tools(state, message, parent, inThreadHead));
    node.append(Demo.avatar(message.user || "bot", author, message.bot ? "bot" : ""), body);
    return node;
  }

  function replyState(state, message) {
    const known = state.replies[message.ts];
    const text = Mrkdwn.unescape(message.text).trim().toLowerCase();
    const line = el("div", "reply-state");
    line.dataset.testid = "reply-state";
    if (!known) {
      const internal = state.settings.internal_prefixes.some((p) => text.startsWith(p.toLowerCase()));
      line.append(internal ? "🔒 Internal note: stays in Slack" : "…");
      line.classList.add(internal ? "internal" : "waiting");
      return line;
    }
    line.classList.add(known.state);
    if (known.state === "queued" && known.sends_at && known.sends_at > Demo.now()) {
      line.append("⏳ Goes public in ", Demo.deadline(known.sends_at), " s: edit or delete it to change your mind");
    } else if (known.state === "queued") {
      line.append("📤 Sending to Mastodon…");
    } else {
      line.append({
        sent: "✅ Public on Mastodon",
        refused: "⛔ Not sent: the bot says why below",
        cancelled: "🗑️ Cancelled: nothing was posted",
        failed: `⚠️ Not sent: ${known.error || "the network refused it"}`,
      }[known.state] || known.state);
    }
    return line;
  }

  function reactions(state, message) {
    const row = el("div", "reactions");
    for (const reaction of message.reactions) {
      const mine = reaction.users.includes(ui.user);
      const pill = el("button", "reaction" + (mine ? " mine" : ""),
        Mrkdwn.EMOJI[reaction.name] || `:${reaction.name}:`, " ", String(reaction.count));
      pill.type = "button";
      pill.title = reaction.users.map((u) => Demo.userName(u) || u).join(", ") + ` reacted with :${reaction.name}:`;
      pill.addEventListener("click", () => react(message.ts, reaction.name));
      row.append(pill);
    }
    return row;
  }

  function tools(state, message, parent, inThreadHead) {
    const bar = el("div", "msg-tools");
    const button = (label, title, action, testid) => {
      const node = el("button", "tool", label);
      node.type = "button";
      node.title = title;
      if (testid) node.dataset.testid = testid;
      node.addEventListener("click", action);
      bar.append(node);
    };
    if (isCard(message)) {
      bar.append(el("span", "tools-label", "React:"));
      for (const name of [...state.settings.claim_reactions, ...state.settings.close_reactions]) {
        const label = REACTION_LABELS[name] || name;
        button(`${Mrkdwn.EMOJI[name] || ":" + name + ":"} ${label.toLowerCase()}`,
          `React with :${name}: (${label.toLowerCase()}s the conversation; take it away to undo)`,
          () => react(message.ts, name), `react-${name}`);
      }
      if (!inThreadHead) button("💬 Reply in thread", "Open the thread", () => openThread(message.ts), "open-thread");
    }
    if (parent && message.user === ui.user && message.subtype !== "tombstone") {
      button("Edit", "Edit your message", () => startEdit(message), "edit");
      button("Delete", "Delete your message", () => Demo.api("/api/slack/delete", { user: ui.user, ts: message.ts }), "delete");
    }
    return bar;
  }

  function commandNode(state, run) {
    const publicAnswers = run.answers.filter((a) => a.public);
    const node = el("div", "msg ephemeral" + (publicAnswers.length ? " public" : ""));
    node.dataset.testid = "command-answer";
    const head = el("div", "msg-head",
      el("span", "author", "socialbridge"), el("span", "app-badge", "APP"),
      el("span", "time", Demo.clock(run.sent_at)),
      publicAnswers.length ? null : el("span", "only-you", "Only visible to you"));
    const asked = el("div", "asked", el("code", null, `${state.settings.command} ${run.text}`.trim()),
      " from ", Demo.userName(run.user) || run.user);
    const content = el("div", "msg-content");
    if (run.error) content.append(el("div", "gone", run.error));
    else if (!run.answers.length) content.append(el("em", "gone", "…"));
    for (const answer of run.answers) {
      content.append(answer.blocks.length ? Mrkdwn.blocks(answer.blocks, ctx) : Mrkdwn.render(answer.text, ctx));
    }
    node.append(Demo.avatar("bot", "socialbridge", "bot"), el("div", "msg-body", head, asked, content));
    return node;
  }

  function localNote(note) {
    const node = el("div", "msg ephemeral");
    node.append(Demo.avatar("slackbot", "S", "bot"), el("div", "msg-body",
      el("div", "msg-head", el("span", "author", "Slackbot"), el("span", "only-you", "Only visible to you")),
      el("div", "msg-content", note.text)));
    return node;
  }

  function react(ts, name) {
    return Demo.api("/api/slack/react", { user: ui.user, ts, name });
  }

  let channelScroll = 0;

  function openThread(ts) {
    if (!ui.thread) channelScroll = channelBox.scrollTop;
    ui.thread = ts;
    cancelEdit();
    threadBox.dataset.drawn = "";
    threadView.hidden = false;
    document.querySelector(".pane.slack").classList.add("thread-open");
    Demo.redraw();
    threadInput.focus();
  }

  function closeThread(redraw = true) {
    ui.thread = null;
    cancelEdit();
    threadView.hidden = true;
    document.querySelector(".pane.slack").classList.remove("thread-open");
    channelView.hidden = false;
    channelBox.scrollTop = channelScroll;
    if (redraw) Demo.redraw();
  }

  function startEdit(message) {
    ui.editing = message.ts;
    threadInput.value = Mrkdwn.unescape(message.text.replace(/<(https?:[^<>|]+)(?:\|[^<>]*)?>/g, "$1"));
    document.getElementById("editing").hidden = false;
    document.getElementById("thread-send").textContent = "Save";
    threadInput.focus();
  }

  function cancelEdit() {
    ui.editing = null;
    document.getElementById("editing").hidden = true;
    document.getElementById("thread-send").textContent = "Reply";
  }

  async function sendThread(event) {
    event.preventDefault();
    const text = threadInput.value;
    if (!text.trim() || !ui.thread) return;
    const result = ui.editing
      ? await Demo.api("/api/slack/edit", { user: ui.user, ts: ui.editing, text })
      : await Demo.api("/api/slack/message", { user: ui.user, text, thread_ts: ui.thread });
    if (result) {
      threadInput.value = "";
      cancelEdit();
    }
  }

  async function sendChannel(event) {
    event.preventDefault();
    const text = channelInput.value.trim();
    if (!text) return;
    const command = Demo.state.settings.command;
    channelBox.dataset.drawn = ""; // show what comes back: follow the channel to its end
    let result;
    if (text.startsWith("/")) {
      const [name, ...rest] = text.split(/\s+/);
      if (name !== command) {
        ui.localNotes.push({ at: Demo.now(), text: `${name} is not a valid command. In this workspace, ${command} is.` });
        channelInput.value = "";
        Demo.redraw();
        return;
      }
      result = await Demo.api("/api/slack/command", { user: ui.user, text: rest.join(" ") });
    } else {
      result = await Demo.api("/api/slack/message", { user: ui.user, text });
    }
    if (result) channelInput.value = "";
  }

  /** The thread a Slack permalink (…/archives/C123/p1700000000123456) points to, if ours. */
  function permalinkThread(href) {
    const match = /\/archives\/([A-Z0-9]+)\/p(\d+)(\d{6})$/.exec(new URL(href).pathname);
    const ts = match && `${match[2]}.${match[3]}`;
    return ts && Demo.state.slack.messages.some((m) => m.ts === ts) ? ts : null;
  }

  // Links to a post on the sandbox network show it in the other pane; links to a message of
  // this channel open its thread. Everything else opens in a new tab.
  document.querySelector(".pane.slack").addEventListener("click", (event) => {
    const target = event.target.closest("a.link");
    const thread = target && permalinkThread(target.href);
    if (thread) {
      event.preventDefault();
      openThread(thread);
    } else if (target && Demo.Network && Demo.Network.show(target.href)) {
      event.preventDefault();
    }
    const button = event.target.closest("button[data-action-id]");
    if (button) {
      const ts = button.closest(".msg").dataset.ts;
      Demo.api("/api/slack/button", { user: ui.user, ts, action_id: button.dataset.actionId });
    }
  });
  threadInput.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) sendThread(event);
    if (event.key === "Escape" && ui.editing) cancelEdit();
  });
  document.getElementById("thread-form").addEventListener("submit", sendThread);
  document.getElementById("channel-form").addEventListener("submit", sendChannel);
  document.getElementById("thread-back").addEventListener("click", () => closeThread());
  document.getElementById("edit-cancel").addEventListener("click", () => { cancelEdit(); threadInput.value = ""; });
  staffSelect.addEventListener("change", () => { ui.user = staffSelect.value; cancelEdit(); Demo.redraw(); });

  Demo.register({ render });
})();
