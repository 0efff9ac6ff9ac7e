/**
 * HTML → readable text for web_fetch, without a DOM: scripts, styles,
 * `<head>` and other non-content elements are dropped, block elements become
 * line breaks, entities are decoded and whitespace collapsed. Tolerant of
 * broken markup; linear in the input size. Guest-safe.
 */

/** Elements whose whole content is dropped. */
const DROPPED = new Set([
  "script",
  "style",
  "noscript",
  "svg",
  "head",
  "template",
  "iframe",
  "object",
  "canvas",
  "math",
]);

/** Elements that start a new line. */
const BLOCK = new Set([
  "address",
  "article",
  "aside",
  "blockquote",
  "br",
  "caption",
  "dd",
  "details",
  "dialog",
  "div",
  "dl",
  "dt",
  "fieldset",
  "figcaption",
  "figure",
  "footer",
  "form",
  "h1",
  "h2",
  "h3",
  "h4",
  "h5",
  "h6",
  "header",
  "hr",
  "li",
  "main",
  "nav",
  "ol",
  "p",
  "pre",
  "section",
  "summary",
  "table",
  "tbody",
  "thead",
  "tfoot",
  "tr",
  "ul",
  "body",
  "html",
  "title",
  "option",
  "legend",
]);

/** Cells are separated by a space so columns do not run together. */
const CELL = new Set(["td", "th"]);

const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: " ",
  copy: "©",
  reg: "®",
  trade: "™",
  hellip: "…",
  mdash: "—",
  ndash: "–",
  lsquo: "‘",
  rsquo: "’",
  ldquo: "“",
  rdquo: "”",
  sbquo: "‚",
  bdquo: "„",
  bull: "•",
  middot: "·",
  euro: "€",
  pound: "£",
  yen: "¥",
  cent: "¢",
  sect: "§",
  para: "¶",
  deg: "°",
  plusmn: "±",
  times: "×",
  divide: "÷",
  laquo: "«",
  raquo: "»",
  iexcl: "¡",
  iquest: "¿",
  shy: "",
  zwj: "",
  zwnj: "",
  thinsp: " ",
  ensp: " ",
  emsp: " ",
  larr: "←",
  rarr: "→",
  uarr: "↑",
  darr: "↓",
  hearts: "♥",
  auml: "ä",
  ouml: "ö",
  uuml: "ü",
  Auml: "Ä",
  Ouml: "Ö",
  Uuml: "Ü",
  szlig: "ß",
  eacute: "é",
  egrave: "è",
  ecirc: "ê",
  aacute: "á",
  agrave: "à",
  acirc: "â",
  iacute: "í",
  oacute: "ó",
  uacute: "ú",
  ntilde: "ñ",
  ccedil: "ç",
  Eacute: "É",
  aring: "å",
  oslash: "ø",
  aelig: "æ",
  micro: "µ",
  frac12: "½",
  frac14: "¼",
  frac34: "¾",
  sup2: "²",
  sup3: "³",
  prime: "′",
};

/**
 * Decodes HTML character references: named (common set), decimal, hex.
 * Invalid code points become U+FFFD; unknown names are left as written.
 */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[A-Za-z][A-Za-z0-9]{1,31});?/g,
    (whole, body: string) => {
      if (body.startsWith("#")) {
        const code = body[1] === "x" || body[1] === "X"
          ? parseInt(body.slice(2), 16)
          : parseInt(body.slice(1), 10);
        const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
        return valid ? String.fromCodePoint(code) : "\uFFFD";
      }
      return Object.hasOwn(NAMED, body) ? NAMED[body] : whole;
    },
  );
}

/**
 * End of a tag (index of its `>`), honouring quoted attribute values; a quote
 * opens a value only right after `=`, as browsers do.
 */
function tagEnd(html: string, start: number): number {
  let quote = "";
  let previous = "";
  for (let i = start; i < html.length; i++) {
    const c = html[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if ((c === '"' || c === "'") && previous === "=") {
      quote = c;
    } else if (c === ">") {
      return i;
    }
    if (!/\s/.test(c)) previous = c;
  }
  return -1;
}

/**
 * Converts an HTML document or fragment to plain text.
 *
 * @example
 * ```ts
 * htmlToText("<p>Hello <b>world</b></p><script>x()</script>"); // "Hello world"
 * ```
 */
export function htmlToText(html: string): string {
  const out: string[] = [];
  // ASCII-only lower-casing keeps every index equal to the original's.
  const lower = html.replace(/[A-Z]+/g, (s) => s.toLowerCase());
  let i = 0;
  const n = html.length;
  while (i < n) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      out.push(decodeEntities(html.slice(i)));
      break;
    }
    if (lt > i) out.push(decodeEntities(html.slice(i, lt)));
    if (html.startsWith("<!--", lt)) {
      const end = html.indexOf("-->", lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    const match = /^<(\/?)([A-Za-z][A-Za-z0-9:-]*)/.exec(html.slice(lt, lt + 64));
    if (!match) {
      if (html[lt + 1] === "!" || html[lt + 1] === "?") {
        // Doctype, CDATA, processing instruction: skip to the next '>'.
        const end = html.indexOf(">", lt);
        i = end < 0 ? n : end + 1;
      } else {
        out.push("<");
        i = lt + 1;
      }
      continue;
    }
    const closing = match[1] === "/";
    const name = match[2].toLowerCase();
    const end = tagEnd(html, lt + match[0].length);
    if (end < 0) break; // Unterminated tag at the end: drop it.
    i = end + 1;
    if (!closing && DROPPED.has(name) && html[end - 1] !== "/") {
      // Skip to the matching close tag; raw-text elements may contain '<'.
      const stop = lower.indexOf(`</${name}`, i);
      // `</head>` may be omitted: then the body ends the head.
      const body = name === "head" ? lower.indexOf("<body", i) : -1;
      if (body >= 0 && (stop < 0 || body < stop)) i = body;
      else if (stop < 0) i = n;
      else {
        const gt = html.indexOf(">", stop);
        i = gt < 0 ? n : gt + 1;
      }
      out.push("\n");
      continue;
    }
    if (BLOCK.has(name)) out.push("\n");
    else if (CELL.has(name)) out.push(" ");
  }
  return collapseWhitespace(out.join(""));
}

/**
 * Trims every line, collapses runs of spaces and drops blank lines: the text
 * budget is small, so every line should carry content.
 */
export function collapseWhitespace(text: string): string {
  return text.replace(/\r\n?/g, "\n").split("\n")
    .map((line) => line.replace(/[ \t\f\v\u00a0]+/g, " ").trim())
    .filter((line) => line !== "")
    .join("\n");
}
