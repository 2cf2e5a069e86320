// Slack mrkdwn and Block Kit to DOM nodes, for the demo page.
//
// Everything is built with text nodes and createElement: no string ever becomes HTML, so a
// customer's "<img onerror=...>" stays text. Slack's own markup is honoured the way Slack
// shows it: &amp; &lt; &gt; entities, <@U…> people, <#C…|name> channels, <!here> and
// friends, <!date^…|fallback> as its fallback text, <url|label> links (http and https only;
// anything else stays inert text), *bold*, _italic_, ~strike~, `code` and :emoji: names.
// https://api.slack.com/reference/surfaces/formatting
"use strict";

window.Mrkdwn = (() => {
  const EMOJI = {
    eyes: "👀", white_check_mark: "✅", outbox_tray: "📤", lock: "🔒",
    large_blue_circle: "🔵", large_green_circle: "🟢", red_circle: "🔴", white_circle: "⚪",
    arrows_counterclockwise: "🔄", speech_balloon: "💬", no_entry: "⛔", warning: "⚠️",
    information_source: "ℹ️", wastebasket: "🗑️", thinking_face: "🤔", tada: "🎉",
    wave: "👋", pray: "🙏", heart: "❤️", "+1": "👍", thumbsup: "👍", fire: "🔥",
    hourglass_flowing_sand: "⏳", email: "📧", mailbox: "📫", bell: "🔔",
  };
  const ENTITIES = { amp: "&", lt: "<", gt: ">" };
  const BROADCASTS = new Set(["here", "channel", "everyone"]);
  const TOKEN = /<([^<>]*)>/g;
  // *bold* _italic_ ~strike~ `code`, only at word edges as Slack applies them.
  const INLINE =
    /(?<=^|[\s([{"'“‘>,.;:!?-])(?:\*([^*\n]*[^*\s])\*|_([^_\n]*[^_\s])_|~([^~\n]*[^~\s])~|`([^`\n]+)`)(?=$|[\s)\]}"'”’<,.;:!?-])/g;
  const EMOJI_NAME = /:([a-z0-9_+-]+):/g;

  function unescape(text) {
    return text.replace(/&(amp|lt|gt);/g, (_, name) => ENTITIES[name]);
  }

  /** The URL if it is http(s), else null: javascript:, data: and the like never link. */
  function safeUrl(raw) {
    try {
      const url = new URL(raw);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function emojiText(text, parent) {
    let last = 0;
    for (const match of text.matchAll(EMOJI_NAME)) {
      const glyph = EMOJI[match[1]];
      if (!glyph) continue;
      parent.append(text.slice(last, match.index));
      const span = document.createElement("span");
      span.className = "emoji";
      span.title = `:${match[1]}:`;
      span.textContent = glyph;
      parent.append(span);
      last = match.index + match[0].length;
    }
    parent.append(text.slice(last));
  }

  function inline(text, parent) {
    let last = 0;
    for (const match of text.matchAll(INLINE)) {
      emojiText(text.slice(last, match.index), parent);
      const [, bold, italic, strike, code] = match;
      const tag = bold !== undefined ? "strong" : italic !== undefined ? "em"
        : strike !== undefined ? "s" : "code";
      const element = document.createElement(tag);
      const inner = bold ?? italic ?? strike ?? code;
      if (tag === "code") element.textContent = inner;
      else emojiText(inner, element);
      parent.append(element);
      last = match.index + match[0].length;
    }
    emojiText(text.slice(last), parent);
  }

  function mention(text, kind) {
    const span = document.createElement("span");
    span.className = `mention ${kind}`;
    span.textContent = text;
    return span;
  }

  function dateFallback(parts, label) {
    if (label) return label;
    const seconds = Number(parts[1]);
    return Number.isFinite(seconds) ? new Date(seconds * 1000).toUTCString() : "";
  }

  function token(body, ctx) {
    const bar = body.indexOf("|");
    const target = bar < 0 ? body : body.slice(0, bar);
    const label = bar < 0 ? null : unescape(body.slice(bar + 1));
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return mention("@" + (ctx.userName(id) || label || id), "user");
    }
    if (target.startsWith("#")) return mention("#" + (label || target.slice(1)), "channel");
    if (target.startsWith("!")) {
      const parts = target.slice(1).split("^");
      if (BROADCASTS.has(parts[0])) return mention("@" + parts[0], "broadcast");
      if (parts[0] === "date") return document.createTextNode(dateFallback(parts, label));
      if (parts[0] === "subteam") return mention(label || "@" + (parts[1] || "team"), "user");
      return document.createTextNode(label || "");
    }
    const raw = unescape(target);
    const url = safeUrl(raw);
    if (url === null) {
      const address = raw.toLowerCase().startsWith("mailto:") ? raw.slice(7) : raw;
      return document.createTextNode(label || address);
    }
    const link = document.createElement("a");
    link.className = "link";
    link.href = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    emojiText(label || raw, link);
    return link;
  }

  /** Slack mrkdwn `text` as a fragment; ctx.userName(id) names people. */
  function render(text, ctx) {
    const source = String(text ?? "");
    const fragment = document.createDocumentFragment();
    let last = 0;
    for (const match of source.matchAll(TOKEN)) {
      inline(unescape(source.slice(last, match.index)), fragment);
      fragment.append(token(match[1], ctx));
      last = match.index + match[0].length;
    }
    inline(unescape(source.slice(last)), fragment);
    return fragment;
  }

  function textObject(object, ctx) {
    const span = document.createElement("span");
    if (!object) return span;
    if (object.type === "mrkdwn") span.append(render(object.text, ctx));
    else emojiText(String(object.text ?? ""), span);
    return span;
  }

  function div(className, ...children) {
    const element = document.createElement("div");
    element.className = className;
    element.append(...children);
    return element;
  }

  function button(element) {
    const label = element.text ? String(element.text.text ?? "") : "";
    const style = element.style ? ` ${element.style}` : "";
    if (element.url) {
      const url = safeUrl(element.url);
      const link = document.createElement(url ? "a" : "span");
      link.className = "bk-button" + style;
      if (url) {
        link.href = url;
        link.target = "_blank";
        link.rel = "noopener noreferrer nofollow";
        link.classList.add("link");
      }
      emojiText(label, link);
      return link;
    }
    const node = document.createElement("button");
    node.type = "button";
    node.className = "bk-button" + style;
    node.dataset.actionId = String(element.action_id ?? "");
    emojiText(label, node);
    return node;
  }

  function block(item, ctx) {
    switch (item.type) {
      case "section": {
        const node = div("bk-section");
        if (item.text) node.append(div("bk-text", textObject(item.text, ctx)));
        if (Array.isArray(item.fields)) {
          node.append(div("bk-fields", ...item.fields.map((f) => div("bk-field", textObject(f, ctx)))));
        }
        return node;
      }
      case "context": {
        const node = div("bk-context");
        for (const element of item.elements || []) {
          if (element.type === "mrkdwn" || element.type === "plain_text") {
            node.append(textObject(element, ctx));
          }
        }
        if (item.block_id === "status") {
          node.classList.add("status-line");
          node.dataset.testid = "status-line";
        }
        return node;
      }
      case "header":
        return div("bk-header", textObject(item.text, ctx));
      case "divider":
        return document.createElement("hr");
      case "actions":
        return div("bk-actions", ...(item.elements || []).filter((e) => e.type === "button").map(button));
      default:
        return null;
    }
  }

  /** Block Kit blocks as nodes; unknown blocks are left out, as old Slack clients do. */
  function blocks(list, ctx) {
    const fragment = document.createDocumentFragment();
    for (const item of list || []) {
      const node = item && typeof item === "object" ? block(item, ctx) : null;
      if (node) fragment.append(node);
    }
    return fragment;
  }

  return { render, blocks, emojiText, safeUrl, unescape, EMOJI };
})();
