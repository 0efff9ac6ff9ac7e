import assert from "node:assert/strict";
import { collapseWhitespace, decodeEntities, htmlToText } from "../../guest/tools/html_text.ts";

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Page title</title>
  <style>body { color: red } p > a { x: "</p>" }</style>
  <script>var s = "<p>not text</p>"; if (a < b) alert(1);</script>
</head>
<body>
  <!-- a comment <p>hidden</p> -->
  <nav><ul><li>Home</li><li>About</li></ul></nav>
  <h1>Main   heading</h1>
  <p>First paragraph with <b>bold</b> and <a href="/x?a=1&amp;b=2" title="a > b">a link</a>.</p>
  <p>Second&nbsp;paragraph &amp; entities: &lt;tag&gt; &#169; &#x1F600; &eacute; &unknown; &#0;</p>
  <noscript>Enable JavaScript!</noscript>
  <svg viewBox="0 0 10 10"><text>svg text</text></svg>
  <table><tr><td>cell 1</td><td>cell 2</td></tr><tr><td>cell 3</td></tr></table>
  <div>line one<br>line two<br/>line three</div>
  <template><p>template text</p></template>
  <script type="module">
    document.body.innerHTML = "</div>";
  </script>
  <p>Last</p>
</body>
</html>`;

Deno.test("htmlToText: drops non-content elements and keeps readable text", () => {
  const text = htmlToText(PAGE);
  assert.equal(
    text,
    [
      "Home",
      "About",
      "Main heading",
      "First paragraph with bold and a link.",
      "Second paragraph & entities: <tag> © 😀 é &unknown; \uFFFD",
      "cell 1 cell 2",
      "cell 3",
      "line one",
      "line two",
      "line three",
      "Last",
    ].join("\n"),
  );
  for (
    const hidden of [
      "Page title",
      "color",
      "alert",
      "not text",
      "hidden",
      "Enable JavaScript",
      "svg text",
      "template text",
      "innerHTML",
    ]
  ) {
    assert.ok(!text.includes(hidden), hidden);
  }
});

Deno.test("htmlToText: tolerates broken markup", () => {
  assert.equal(htmlToText("a < b and c > d"), "a < b and c > d");
  assert.equal(htmlToText("<p>unclosed <b>bold"), "unclosed bold");
  assert.equal(htmlToText("<script>never closed"), "");
  assert.equal(htmlToText("<p>x</p><img src=x onerror='alert(1)'"), "x");
  assert.equal(
    htmlToText("<a title=it's>fine</a>"),
    "fine",
    "a quote not after = does not open a value",
  );
  assert.equal(
    htmlToText("<head><title>t</title><body><p>body without closing head</p>"),
    "body without closing head",
  );
  assert.equal(htmlToText("<SCRIPT>x()</SCRIPT><P>Upper</P>"), "Upper");
  assert.equal(htmlToText(""), "");
});

Deno.test("htmlToText: linear on hostile input", () => {
  const hostile = "<script>".repeat(20_000) + "<p>" + "&amp;".repeat(50_000);
  const started = performance.now();
  htmlToText(hostile);
  htmlToText("<".repeat(200_000));
  htmlToText("<a " + '"'.repeat(100_000));
  assert.ok(performance.now() - started < 2_000);
});

Deno.test("decodeEntities and collapseWhitespace", () => {
  assert.equal(decodeEntities("&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#X43;"), `<>&"'ABC`);
  assert.equal(decodeEntities("&#xD800;&#1114112;"), "\uFFFD\uFFFD");
  assert.equal(decodeEntities("AT&T &copy"), "AT&T ©");
  assert.equal(collapseWhitespace("  a   b \n\n\n\n c\t\td \n\n"), "a b\nc d");
});
