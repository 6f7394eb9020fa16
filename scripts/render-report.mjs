// Renders a markdown report to a standalone HTML page with GitHub's
// markdown CSS, for scripts/render-report.sh.
//
// usage: node render-report.mjs REPORT.md OUT.html CSS_FILE
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(process.env.RENDER_NODE_MODULES + "/");
const MarkdownIt = require("markdown-it");
const footnote = require("markdown-it-footnote");

const [md, out, cssFile] = process.argv.slice(2);
if (!md || !out || !cssFile) {
  console.error("usage: node render-report.mjs REPORT.md OUT.html CSS_FILE");
  process.exit(2);
}
// GitHub's flavour: tables, strikethrough, autolinks, footnotes; raw HTML
// is not passed through (GitHub sanitises it).
const it = new MarkdownIt({ html: false, linkify: true }).use(footnote);
const body = it.render(readFileSync(md, "utf8"));
const css = readFileSync(cssFile, "utf8");
// Relative links (the reliability diagram) resolve beside the report.
const base = pathToFileURL(dirname(resolve(md)) + "/").href;
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
writeFileSync(out, `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<base href="${esc(base)}">
<title>${esc(md)}</title>
<style>
${css}
body { background: #ffffff; margin: 0; }
.markdown-body { box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 45px; }
.markdown-body img { background: #ffffff; }
</style>
</head>
<body>
<article class="markdown-body">
${body}
</article>
</body>
</html>
`);
