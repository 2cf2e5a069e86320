"""`socialbridge demo`: the real bot between a sandbox Slack and a sandbox Mastodon, in a page.

`world` builds the sandbox and runs the bot in it, `page` says what the page shows,
`server` serves the page and starts everything, `scenario` plays scripted customers;
`static/` holds the page itself (plain HTML, CSS and JavaScript: no build step, no CDN).
"""
