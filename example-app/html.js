// @ts-check
/**
 * The HTML of the example app's pages and of its development provider's: one escaping function,
 * one small stylesheet, one page layout.
 */

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @param {unknown} value
 * @returns {string}
 */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;align-items:center;gap:1rem;padding:.75rem 1.5rem;background:var(--accent);color:#fff;overflow-wrap:anywhere}
header a{color:#fff;text-decoration:none}
header form{margin:0}
.brand{font-weight:600;margin-right:auto}
main{max-width:46rem;margin:2rem auto;padding:0 1.5rem}
h1{font-size:1.6rem;margin:0 0 1rem}
h2{font-size:1.1rem;margin:0 0 .75rem}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:1rem 1.5rem;margin:0 0 1.5rem}
button,.button{display:inline-block;font:inherit;padding:.4rem 1rem;border:1px solid var(--accent);border-radius:6px;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none}
header button,.secondary{background:transparent;border-color:currentColor}
.secondary{color:var(--accent)}
.actions{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:baseline;padding:.35rem .5rem;border-top:1px solid #eaeef2;overflow-wrap:anywhere}
th{width:30%;font:500 .9rem ui-monospace,SFMono-Regular,Menlo,monospace}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1.5rem;margin:0 0 1rem}
dt{color:#59636e}
dd{margin:0}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.75rem;overflow:auto;font-size:.85rem}
input{display:block;width:100%;font:inherit;padding:.5rem .6rem;margin:0 0 .75rem;border:1px solid #d0d7de;border-radius:6px}
.muted{color:#59636e;font-size:.9rem}`;

/**
 * A whole page: a header bar, then the content.
 *
 * @param {object} parts
 * @param {string} parts.title the document's title, plain text
 * @param {string} parts.header the header bar's HTML, already escaped
 * @param {string} parts.main the content's HTML, already escaped
 * @param {string} [parts.accent] the colour of the header bar and buttons
 * @returns {string}
 */
export function htmlPage({ title, header, main, accent = '#1f6feb' }) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>:root{--accent:${accent}}
${STYLE}</style>
</head><body>
<header>${header}</header>
<main>${main}</main>
</body></html>`;
}
