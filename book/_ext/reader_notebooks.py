"""Reader notebooks: each chapter as a reader opens it in JupyterLab, Colab or Binder.

The stored chapters (``book/NN-name.ipynb``) stay the single source. After every
book build this module writes a *reader notebook* per chapter in which the
MyST-only syntax that Jupyter and Colab cannot render is turned into CommonMark:

- admonitions (``:::{admonition} Title`` / ``{note}`` ...) become a blockquote
  with a bold title;
- ``{cite}`key``` becomes "(Author et al., YEAR)", linked to the book's
  references page;
- ``{ref}``/``{doc}``/``{numref}``/``{eq}`` and relative links to other pages
  become links into the published book;
- ``{glue:text}`name:fmt``` becomes the value the build computed (read from the
  build's ``jupyter_execute/<doc>.glue.json`` or the executed notebook's outputs);
- every other directive or role gets a plain rendering; none is left raw;
- solution cells (source starting ``# solution``) become Markdown cells holding the
  code in a closed ``<details>`` block titled "Solution to Exercise N": folded in
  JupyterLab and in Colab alike, and never run by *Run All* (a reader who wants to
  run it copies it into a cell). A code cell cannot do both: Colab's ``#@title``
  form and Lab's ``source_hidden`` only hide the code, and *Run All* still runs it
  and prints "correct (...)" under the exercise;
- the exercise cells stay code (``notebook.check("ch01-ex1", answer_1)``), and one
  collapsed code cell before the first of them, "Answers for the self-checks",
  loads the build's exercise records (value, tolerance, hint), base64-encoded so
  that no answer is in plain sight, for ``notebook.check`` to look up by id
  (``dotbook.notebook.answers``);
- a ``{predict}`` prompt becomes a quoted "Predict first" paragraph;
- the setup cell stays first and unchanged.

Where they go (``<out>`` is the HTML output, ``_build/html``):

- ``<out>/_sources/<doc>.ipynb``: what each chapter page's download button serves;
- ``<out>/_notebooks/<name>.ipynb``: the same files in one folder, which
  ``make lab`` opens and the Pages workflow pushes to the ``reader`` branch
  (same paths as on ``main``), where the Colab and Binder buttons open them.

The book build runs this from ``book/_ext/dotbook_sphinx.py`` (``build-finished``);
problems are Sphinx warnings, so ``-W`` fails the build. By hand, on a finished build:

    python book/_ext/reader_notebooks.py [BUILD_DIR]   # default: _build
"""

from __future__ import annotations

import argparse
import ast
import base64
import json
import pickle
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = "_notebooks"

#: What is left of MyST in a converted markdown cell if the converter missed
#: something; the generator reports any match (and tests/test_reader_notebooks.py
#: has its own, independent set).
MYST_RESIDUE = {
    "directive fence": re.compile(r"^\s*(?::{3,}|`{3,}|~{3,})\s*\{", re.M),
    "colon fence": re.compile(r"^\s*:{3,}", re.M),
    "role": re.compile(r"\{[A-Za-z][\w:+.-]*\}`"),
    "target": re.compile(r"^\s*\([^()\s]+\)=\s*$", re.M),
    "block break": re.compile(r"^\+\+\+", re.M),
    "substitution": re.compile(r"\{\{\s*[\w.-]+\s*\}\}"),
}

_ADMONITIONS = {
    "admonition": "", "attention": "Attention", "caution": "Caution", "danger": "Danger",
    "error": "Error", "hint": "Hint", "important": "Important", "note": "Note",
    "seealso": "See also", "tip": "Tip", "warning": "Warning", "todo": "To do",
    "versionadded": "New in version", "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version", "versionremoved": "Removed in version",
}
#: sphinx-bibtex roles: parenthetical, textual, author only, year only
_CITE_KIND = {
    "cite": "p", "cite:p": "p", "cite:ps": "p", "cite:alp": "p", "cite:alps": "p",
    "cite:labelpar": "p", "cite:yearpar": "yp", "cite:t": "t", "cite:ts": "t",
    "cite:ct": "t", "cite:cts": "t", "cite:author": "a", "cite:authors": "a",
    "cite:cauthor": "a", "cite:cauthors": "a", "cite:year": "y", "cite:label": "t",
    "cite:empty": "",
}
_NUMFIG_FORMAT = {"figure": "Fig. %s", "table": "Table %s", "code-block": "Listing %s",
                  "section": "Section %s"}
_CODE_ROLES = {"code", "literal", "samp", "file", "command", "program", "envvar", "option",
               "kbd", "regexp", "makevar", "mailheader", "mimetype", "newsgroup", "dfn"}


class ReaderError(ValueError):
    """A chapter uses something the converter cannot render faithfully."""


@dataclass(frozen=True)
class Citation:
    """One bibliography entry as the prose cites it."""

    author: str  # "Vaswani et al.", "Glorot and Bengio"
    authors: str  # every surname: "Glorot and Bengio", "He, Zhang, Ren and Sun"
    year: str
    anchor: str = ""  # the entry's id on the references page, when known


@dataclass(frozen=True)
class Target:
    """Where a label points: a page, an anchor on it, the text a link shows."""

    docname: str
    anchor: str
    title: str
    number: str = ""
    kind: str = "section"  # what {numref} calls it: figure, table, code-block, section


@dataclass
class Book:
    """What the converter needs to know about the book around one chapter."""

    base_url: str  # the published book, ending in "/"
    title: str = "the book"
    docname: str = ""  # the chapter being converted
    references: str = "book/references"  # docname of the page with the bibliography
    citations: dict[str, Citation] = field(default_factory=dict)
    labels: dict[str, Target] = field(default_factory=dict)
    equations: dict[str, Target] = field(default_factory=dict)
    docs: dict[str, str] = field(default_factory=dict)  # docname -> title
    glue: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # doc -> key -> bundle
    substitutions: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def url(self, docname: str, anchor: str = "") -> str:
        return f"{self.base_url}{docname}.html" + (f"#{anchor}" if anchor else "")

    def problem(self, message: str) -> str:
        self.problems.append(f"{self.docname or '<text>'}: {message}")
        return message


# ---------------------------------------------------------------- inline roles

_ROLE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}(?P<ticks>`+)(?P<body>.+?)(?P=ticks)", re.S)
_CODE_SPAN = re.compile(r"(?P<ticks>`+).+?(?P=ticks)", re.S)
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.S)
_LINK = re.compile(r"(?P<text>\[[^\]\n]*\])\((?P<target>[^()\s]+)(?P<title>\s+\"[^\"]*\")?\)")
_SUBST = re.compile(r"\{\{\s*(?P<name>[\w.-]+)\s*\}\}")
_TITLED = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)


def convert_inline(text: str, book: Book) -> str:
    """Replace the MyST roles, substitutions and page links of one run of text.

    Code spans and math are left as they are.

    Examples::

        >>> book = Book("https://e.org/b/", citations={"v": Citation("V et al.", "V", "2017")})
        >>> convert_inline("as shown {cite}`v`, in `{cite}` code", book)
        'as shown ([V et al., 2017](https://e.org/b/book/references.html)), in `{cite}` code'
    """
    out, i = [], 0
    while i < len(text):
        for pattern, render in ((_ROLE, _render_role), (_CODE_SPAN, None), (_MATH, None),
                                (_LINK, _render_link), (_SUBST, _render_subst)):
            m = pattern.match(text, i)
            if m:
                out.append(render(m, book) if render else m.group(0))
                i = m.end()
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _split_titled(body: str) -> tuple[str, str]:
    """``"text <target>"`` -> (text, target); ``"target"`` -> ("", target)."""
    m = _TITLED.match(body.strip())
    if m:
        return m.group("text").strip(), m.group("target").strip()
    return "", body.strip()


def _render_role(m: re.Match, book: Book) -> str:
    name, body = m.group("name").lower(), m.group("body")
    if name in _CITE_KIND:
        return _render_cite(_CITE_KIND[name], body, book)
    if name.startswith("glue"):
        return _render_glue(name, body, book, inline=True)
    if name == "math":
        return f"${body}$"
    if name in ("ref", "numref", "eq", "doc", "any", "std:ref", "std:doc"):
        return _render_xref(name.split(":")[-1], body, book)
    if name in ("sub", "subscript"):
        return f"<sub>{body}</sub>"
    if name in ("sup", "superscript"):
        return f"<sup>{body}</sup>"
    if name in ("emphasis", "title-reference", "t"):
        return f"*{body}*"
    if name == "strong":
        return f"**{body}**"
    text, target = _split_titled(body)
    if re.match(r"https?://", target):
        return f"[{text or target}]({target})"
    if name in _CODE_ROLES or ":" in name or name in (
            "func", "class", "meth", "mod", "attr", "obj", "data", "exc", "const"):
        # code-ish roles and domain roles (py:func, ...): the name, as code
        shown = text or target.lstrip("~!")
        if target.startswith("~") and not text:
            shown = shown.rsplit(".", 1)[-1]
        return f"`{shown}`"
    # abbr, term, index, download, u, and anything else: the words it shows
    return text or target


def _render_cite(kind: str, body: str, book: Book) -> str:
    keys = [k.strip() for k in body.split(",") if k.strip()]
    parts = []
    for key in keys:
        entry = book.citations.get(key)
        if entry is None:
            book.problem(f"unknown citation key {key!r}")
            entry = Citation(key, key, "n.d.")
        url = book.url(book.references, entry.anchor)
        if kind == "t":
            parts.append(f"[{entry.author} ({entry.year})]({url})")
        elif kind == "a":
            parts.append(f"[{entry.author}]({url})")
        elif kind in ("y", "yp"):
            parts.append(f"[{entry.year}]({url})")
        elif kind == "p":
            parts.append(f"[{entry.author}, {entry.year}]({url})")
    if kind == "":
        return ""
    joined = "; ".join(parts) if kind == "p" else ", ".join(parts)
    return f"({joined})" if kind in ("p", "yp") else joined


def _render_xref(kind: str, body: str, book: Book) -> str:
    text, target = _split_titled(body)
    if kind == "doc":
        docname = _resolve_doc(target, book)
        if docname is None:
            book.problem(f"{{doc}} target {target!r} is not a page of the book")
            return text or target
        return f"[{text or book.docs.get(docname, docname)}]({book.url(docname)})"
    if kind == "eq":
        found = book.equations.get(target)
        if found is None:
            book.problem(f"unknown equation label {target!r}")
            return text or target
        return f"[{text or f'({found.number})'}]({book.url(found.docname, found.anchor)})"
    found = book.labels.get(target.lower()) or book.labels.get(target)
    if found is None and kind == "any":
        docname = _resolve_doc(target, book)
        if docname is not None:
            return f"[{text or book.docs.get(docname, docname)}]({book.url(docname)})"
    if found is None:
        book.problem(f"unknown label {target!r}")
        return text or target
    shown = text or found.title
    if kind == "numref":
        template = text or _NUMFIG_FORMAT.get(found.kind, "%s")
        shown = (template.replace("%s", found.number).replace("{number}", found.number)
                 .replace("{name}", found.title))
    return f"[{shown}]({book.url(found.docname, found.anchor)})"


def _resolve_doc(target: str, book: Book) -> str | None:
    """A link or {doc} target, relative to the chapter or absolute from the root, as a docname."""
    path = target.split("#", 1)[0]
    if not path:
        return None
    stem = re.sub(r"\.(ipynb|md|rst|html)$", "", path)
    if stem.startswith("/"):
        candidate = stem.lstrip("/")
    else:
        parent = PurePosixPath(book.docname).parent
        parts: list[str] = []
        for part in (parent / stem).parts:
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        candidate = "/".join(parts)
    return candidate if candidate in book.docs else None


def _render_link(m: re.Match, book: Book) -> str:
    """Relative links to another page of the book point at its published page."""
    target = m.group("target")
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
        return m.group(0)
    docname = _resolve_doc(target, book)
    if docname is None:
        return m.group(0)
    anchor = target.split("#", 1)[1] if "#" in target else ""
    return f"{m.group('text')}({book.url(docname, anchor)}{m.group('title') or ''})"


def _render_subst(m: re.Match, book: Book) -> str:
    name = m.group("name")
    if name not in book.substitutions:
        book.problem(f"unknown substitution {{{{ {name} }}}}")
        return name
    return convert_inline(str(book.substitutions[name]), book)


# ---------------------------------------------------------------- glue


def _plain(text: str, fmt: str) -> str:
    """myst-nb's rendering of a glued text/plain value with a format spec."""
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if fmt == "":
        return str(value)
    kind = fmt[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, fmt)


def _glue_bundle(key: str, book: Book) -> dict[str, Any] | None:
    doc, _, name = key.rpartition("::")
    docname = _resolve_doc(doc, book) if doc else book.docname
    bundle = book.glue.get(docname or "", {}).get(name)
    if bundle is None:
        book.problem(f"no glued value {key!r} in the build (was the chapter executed?)")
    return bundle


def _render_glue(name: str, body: str, book: Book, inline: bool) -> str:
    kind = name.partition(":")[2] or "any"
    fmt = ""
    key = body.strip()
    if kind in ("text", "md") and re.search(r"[^:]:[^:]*$", key):
        key, fmt = key.rsplit(":", 1)
        fmt = "" if kind == "md" else fmt
    bundle = _glue_bundle(key, book)
    if bundle is None:
        return f"[{key}]"
    data = bundle.get("data", {})
    try:
        if kind == "text":
            return _plain(data["text/plain"], fmt or "s")
        if kind == "md" and "text/markdown" in data:
            return convert_markdown(data["text/markdown"], book)
        if kind == "math" and "text/latex" in data:
            latex = data["text/latex"].strip().strip("$").strip()
            return f"${latex}$" if inline else f"$$\n{latex}\n$$"
        if "text/markdown" in data:
            return convert_markdown(data["text/markdown"], book)
        if "text/latex" in data:
            return data["text/latex"].strip()
        if "text/plain" in data and not any(k.startswith("image/") or k == "text/html"
                                            for k in data):
            return _plain(data["text/plain"], "")
    except (KeyError, ValueError, TypeError) as error:
        book.problem(f"glued value {key!r} cannot be shown as {kind}: {error}")
        return f"[{key}]"
    # a figure or other rich output: the cells below compute and show it
    return "*(the figure computed by the cells below appears here when you run them)*"


def glue_data(build: Path, docname: str, executed: dict | None = None) -> dict[str, dict]:
    """The glued values of one chapter, as myst-nb stored them at build time.

    myst-nb >= 1.2 writes ``<build>/jupyter_execute/<doc>.glue.json``; otherwise the
    values are the executed notebook's display outputs with ``scrapbook`` metadata.
    """
    path = build.joinpath("jupyter_execute", *docname.split("/"))
    glue_json = path.with_name(path.name + ".glue.json")
    raw: dict[str, dict] = {}
    if glue_json.exists():
        raw = json.loads(glue_json.read_text(encoding="utf8"))
    else:
        nb = executed
        if nb is None and path.with_name(path.name + ".ipynb").exists():
            nb = json.loads(path.with_name(path.name + ".ipynb").read_text(encoding="utf8"))
        for cell in (nb or {}).get("cells", []):
            for output in cell.get("outputs", []):
                meta = output.get("metadata", {}).get("scrapbook")
                if meta:
                    raw[meta["name"]] = output
    values = {}
    for key, output in raw.items():
        prefix = output.get("metadata", {}).get("scrapbook", {}).get("mime_prefix", "")
        data = output.get("data", {})  # .glue.json holds them without the prefix
        values[key] = {"data": {m.removeprefix(prefix): v for m, v in data.items()}}
    return values


# ---------------------------------------------------------------- block directives

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>:{3,}|`{3,}|~{3,})\{(?P<name>[^}\s]+)\}"
                   r"\s*(?P<arg>.*?)\s*$")
_PLAIN_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
_EQ_LABEL = re.compile(r"^(?P<math>\s*\$\$)\s*\([^()\s]+\)\s*$")


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (len(stripped) >= len(fence) and set(stripped) == {fence[0]})


def convert_markdown(text: str, book: Book) -> str:
    """One markdown cell, MyST in, CommonMark (with $math$) out.

    Examples::

        >>> print(convert_markdown(":::{note}\\nRead *this*.\\n:::", Book("https://e.org/")))
        > **Note**
        >
        > Read *this*.
    """
    lines = text.split("\n")
    out: list[str] = []
    prose: list[str] = []

    def flush() -> None:
        if prose:
            out.extend(convert_inline("\n".join(prose), book).split("\n"))
            prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        opened = _OPEN.match(line)
        fence = opened or _PLAIN_FENCE.match(line)
        if fence:
            indent, mark = fence.group("indent"), fence.group("fence")
            end = i + 1
            while end < len(lines) and not _closes(lines[end], mark):
                end += 1
            body = [b[len(indent):] if b.startswith(indent) else b.lstrip()
                    for b in lines[i + 1:end]]
            flush()
            if opened:
                rendered = _render_directive(opened.group("name").lower(), opened.group("arg"),
                                             body, book)
            else:
                rendered = [line.strip()] + body + [mark]
            out.extend((indent + r) if r else "" for r in rendered)
            i = end + 1
            continue
        if re.match(r"^\s*\([^()\s]+\)=\s*$", line) or re.match(r"^%", line) \
                or re.match(r"^\+\+\+", line):
            i += 1  # targets, comments and block breaks are not shown in the book
            continue
        eq = _EQ_LABEL.match(line)
        prose.append(eq.group("math") if eq else line)
        i += 1
    flush()
    joined = "\n".join(out)
    return re.sub(r"\n{3,}", "\n\n", joined).strip("\n")


def _options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split a directive body into its options (``:key: value`` or a YAML block) and content."""
    if body and body[0].strip() == "---":
        for j in range(1, len(body)):
            if body[j].strip() == "---":
                options = yaml.safe_load("\n".join(body[1:j])) or {}
                return {str(k): str(v) for k, v in options.items()}, body[j + 1:]
    options, j = {}, 0
    while j < len(body):
        m = _OPTION.match(body[j].strip())
        if not m:
            break
        options[m.group("key")] = m.group("value")
        j += 1
    return options, body[j:]


def _quote(title: str, content: str) -> list[str]:
    lines = [f"> **{title}**"] if title else []
    if content.strip():
        if lines:
            lines.append(">")
        lines.extend(f"> {c}" if c.strip() else ">" for c in content.split("\n"))
    return lines


def _render_directive(name: str, arg: str, body: list[str], book: Book) -> list[str]:
    options, content_lines = _options(body)
    content = "\n".join(content_lines).strip("\n")
    inner = convert_markdown(content, book) if content.strip() else ""
    if name in ("math", "amsmath"):
        return ["$$", *([arg] if arg else []), *content_lines, "$$"]
    if name in ("code", "code-block", "sourcecode", "code-cell", "literalinclude"):
        if name == "literalinclude":
            return [f"*(code from `{arg}`)*"]
        return [f"```{arg.split()[0] if arg else ''}", *content_lines, "```"]
    if name == "raw":
        return content_lines if "html" in arg.lower() else []
    if name in ("toctree", "index", "only", "tableofcontents", "glossary-hidden"):
        if name == "tableofcontents":
            return [f"See the contents of [{book.title}]({book.base_url})."]
        return []
    if name == "bibliography":
        return [f"The works cited are listed on the [references page]"
                f"({book.url(book.references)}) of {book.title}."]
    if name.startswith("glue"):
        kind = name.partition(":")[2] or "any"
        shown = _render_glue("glue:" + kind, arg, book, inline=False)
        caption = f"\n\n{inner}" if inner else ""
        return (shown + caption).split("\n")
    if name in ("figure", "image"):
        alt = options.get("alt", "")
        src = arg
        if not re.match(r"[a-z]+://", src):
            src = f"{book.base_url}_images/{PurePosixPath(src).name}"
        lines = [f"![{alt}]({src})"]
        if inner:
            lines += ["", inner]
        return "\n".join(lines).split("\n")
    if name in ("div", "container", "card-body", "grid-item", "grid", "centered"):
        return inner.split("\n") if inner else []
    if name == "rubric":
        return [f"**{convert_inline(arg, book)}**"]
    if name == "predict":  # dotbook_answers.py: the page reveals the value; here, the cells do
        picks = [o.strip() for o in options.get("options", "").split("|") if o.strip()]
        ask = f"\n\nPick one: {', '.join(picks)}." if picks else ""
        note = "\n\nWrite your guess down; the cells below compute the answer."
        return _quote("Predict first", inner + ask + note)
    if name in _ADMONITIONS:
        title = arg if name == "admonition" else _ADMONITIONS[name]
        if name in ("versionadded", "versionchanged", "deprecated", "versionremoved"):
            title = f"{title} {arg}".strip()
        elif name != "admonition" and arg:  # {note} Text: the argument is content
            inner = convert_markdown("\n".join([arg, *content_lines]), book)
        return _quote(convert_inline(title, book), inner)
    # dropdown, margin, sidebar, topic, epigraph, tab-item, card, ...: a titled quote
    title = convert_inline(arg, book) if arg else name.split(":")[-1].replace("-", " ").title()
    if name in ("epigraph", "pull-quote", "highlights", "blockquote"):
        title = ""
    return _quote(title, inner)


def residue(text: str) -> list[str]:
    """The names of the MyST constructs still present in ``text``."""
    return [name for name, pattern in MYST_RESIDUE.items() if pattern.search(text)]


# ---------------------------------------------------------------- notebooks


def _solution_title(source: str) -> str:
    m = re.search(r"(?:check|solution)\(\s*[\"']([^\"']+)[\"']", source)
    title = re.search(r"title=[\"']([^\"']+)[\"']", source)
    which = title.group(1) if title else (m.group(1) if m else "")
    return f"Solution to {which}" if which else "Solution"


def solution_markdown(source: str) -> str:
    """A solution cell's code as a closed ``<details>`` block: folded, and never run.

    Examples::

        >>> print(solution_markdown('# solution\\nnotebook.solution("ch01-ex1", x, expected=1)'))
        <details>
        <summary>Solution to ch01-ex1 (copy the code into a cell to run it)</summary>
        <BLANKLINE>
        ```python
        # solution
        notebook.solution("ch01-ex1", x, expected=1)
        ```
        <BLANKLINE>
        </details>
    """
    fence = "```"
    while fence in source:
        fence += "`"
    summary = f"{_solution_title(source)} (copy the code into a cell to run it)"
    return "\n".join(["<details>", f"<summary>{summary}</summary>", "", f"{fence}python",
                       source.rstrip("\n"), fence, "", "</details>"])


#: An exercise cell of the one-source form: ``notebook.check("ch01-ex1", answer_1)``.
_EXERCISE = re.compile(r"notebook\.check\(\s*[\"']([a-z0-9-]+)[\"']\s*,\s*\w+\s*\)")
EXERCISE_PREFIX = "dotbook_exercise__"  # dotbook.exercises.GLUE_PREFIX


def exercise_records(book: Book) -> dict[str, dict[str, Any]]:
    """The exercise records the build glued for the chapter being converted, by id."""
    found = {}
    for key, bundle in book.glue.get(book.docname, {}).items():
        if key.startswith(EXERCISE_PREFIX):
            text = bundle.get("data", {}).get("text/plain", "")
            try:
                found[key[len(EXERCISE_PREFIX):]] = json.loads(ast.literal_eval(text))
            except (SyntaxError, ValueError) as error:
                book.problem(f"exercise record {key!r} is not readable: {error}")
    return found


def answers_cell(records: list[dict[str, Any]]) -> nbformat.NotebookNode:
    """The collapsed code cell that loads the exercise records for ``notebook.check``."""
    payload = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
    encoded = base64.b64encode(payload.encode("utf8")).decode("ascii")
    chunks = [encoded[i:i + 76] for i in range(0, len(encoded), 76)]
    body = "\n".join(f'    "{c}"' for c in chunks)
    source = (f"#@title Answers for the self-checks (encoded, so they spoil nothing): run this "
              f"cell\nnotebook.answers(\n{body}\n)")
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["cellView"] = "form"
    cell.metadata["jupyter"] = {"source_hidden": True}
    cell.metadata["tags"] = ["dotbook-answers"]
    return cell


def reader_notebook(nb: nbformat.NotebookNode, book: Book) -> nbformat.NotebookNode:
    """The reader's version of one stored chapter (a new notebook; ``nb`` is unchanged)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    solutions = any(c.cell_type == "code" and c.source.lstrip().startswith("# solution")
                    for c in nb.cells[1:])
    records = exercise_records(book)
    used: list[str] = []
    first_markdown = True
    cells, answers_at = [], None
    for index, cell in enumerate(nb.cells):
        cell.pop("id", None)
        if cell.cell_type == "markdown":
            cell.source = convert_markdown(cell.source, book)
            if first_markdown:
                cell.source = _with_origin(cell.source, book, solutions)
                first_markdown = False
            left = residue(cell.source)
            if left:
                book.problem(f"cell {index} still has MyST syntax ({', '.join(left)})")
        elif cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if index > 0 and cell.source.lstrip().startswith("# solution"):
                metadata = {k: v for k, v in cell.metadata.items() if k != "tags"}
                cell = nbformat.v4.new_markdown_cell(solution_markdown(cell.source),
                                                     metadata=metadata)
            elif index > 0:
                found = _EXERCISE.search(cell.source)
                if found:
                    if found.group(1) not in records:
                        book.problem(f"exercise {found.group(1)!r} has no record in the build "
                                     f"(its solution cell must call notebook.solution)")
                    used.append(found.group(1))
                    if answers_at is None:
                        answers_at = len(cells)
        cells.append(cell)
    if used:
        cells.insert(answers_at, answers_cell([records[i] for i in used if i in records]))
    nb.cells = cells
    for index, cell in enumerate(nb.cells):  # nbformat 4.5 ids: Lab opens it unmodified
        cell.id = f"cell-{index}"
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata.setdefault("colab", {})["provenance"] = []
    nb.metadata["dotbook"] = {"reader_notebook_of": f"{book.docname}.ipynb",
                              "book_page": book.url(book.docname)}
    return nb


def _with_origin(source: str, book: Book, solutions: bool) -> str:
    """A line under the chapter's title that says where the chapter lives."""
    folded = ("; the solutions to the exercises are folded away, and Run All does not run "
              "them" if solutions else "")
    note = (f"*A chapter of [{book.title}]({book.url(book.docname)}), as a notebook. Run the "
            f"cells from the top{folded}.*")
    lines = source.split("\n")
    if lines and lines[0].startswith("# "):
        return "\n".join([lines[0], "", note, *lines[1:]])
    return "\n".join([note, "", source])


# ---------------------------------------------------------------- the book around a chapter


def book_url(config: dict[str, Any]) -> str:
    """The published book: ``html.baseurl`` if set, else the GitHub Pages URL of ``repository.url``.

    Examples::

        >>> book_url({"repository": {"url": "https://github.com/Org/my-book"}})
        'https://org.github.io/my-book/'
    """
    explicit = (config.get("html") or {}).get("baseurl")
    if explicit:
        return explicit.rstrip("/") + "/"
    url = config["repository"]["url"].rstrip("/").removesuffix(".git")
    m = re.match(r"https?://github\.com/([^/]+)/([^/]+)$", url)
    if not m:
        raise ReaderError(f"cannot derive the published book's URL from repository.url {url!r}; "
                          "set html.baseurl in _config.yml")
    return f"https://{m.group(1).lower()}.github.io/{m.group(2)}/"


def citations_from_bib(paths: Iterable[Path]) -> dict[str, Citation]:
    """Author-year labels of every entry in the BibTeX files."""
    from pybtex.database import parse_file
    from pybtex.richtext import Text

    def surname(person: Any) -> str:
        raw = " ".join(person.prelast_names + person.last_names)
        return Text.from_latex(raw).render_as("text")

    found = {}
    for path in paths:
        for key, entry in parse_file(str(path)).entries.items():
            people = entry.persons.get("author") or entry.persons.get("editor") or []
            names = [surname(p) for p in people] or [key]
            if len(names) == 1:
                short = names[0]
            elif len(names) == 2:
                short = f"{names[0]} and {names[1]}"
            else:
                short = f"{names[0]} et al."
            full = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            year = Text.from_latex(entry.fields.get("year", "n.d.")).render_as("text")
            found[key] = Citation(short, full, year)
    return found


def _from_env(env: Any, book: Book) -> None:
    """Labels, equations, page titles and citation anchors from a Sphinx build environment."""
    book.docs = {d: env.titles[d].astext() for d in env.found_docs if d in env.titles}
    std = env.domaindata.get("std", {})
    fignumbers = getattr(env, "toc_fignumbers", {})
    for label, (docname, anchor, title) in std.get("labels", {}).items():
        if docname in book.docs:
            number, kind = "", "section"
            for figtype, numbers in fignumbers.get(docname, {}).items():
                if anchor in numbers:
                    number, kind = ".".join(map(str, numbers[anchor])), figtype
            book.labels[label] = Target(docname, anchor, str(title or label), number, kind)
    for label, (docname, anchor) in std.get("anonlabels", {}).items():
        if docname in book.docs and label not in book.labels:
            book.labels[label] = Target(docname, anchor, label)
    for label, value in env.domaindata.get("math", {}).get("objects", {}).items():
        docname, number = value[0], value[1]
        book.equations[label] = Target(docname, f"equation-{label}", label, str(number))
    cite = env.domaindata.get("cite", {})
    for key in cite.get("bibliographies", {}):
        book.references = key.docname
    for citation in cite.get("citations", []):
        if citation.key in book.citations:
            old = book.citations[citation.key]
            book.citations[citation.key] = Citation(old.author, old.authors, old.year,
                                                    citation.citation_id)
    subs = getattr(env.config, "myst_substitutions", None) or {}
    book.substitutions.update(subs)


def chapters(env: Any) -> list[str]:
    """Docnames of the built pages whose source is a notebook, in the toc's order."""
    found = [d for d in env.found_docs if str(env.doc2path(d)).endswith(".ipynb")]
    order = {d: i for i, d in enumerate(_toc_order(env))}
    return sorted(found, key=lambda d: (order.get(d, len(order)), d))


def _toc_order(env: Any) -> list[str]:
    seen: list[str] = []

    def walk(doc: str) -> None:
        if doc in seen:
            return
        seen.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return seen


def generate(build: Path, env: Any, config: dict[str, Any], root: Path = ROOT,
             warn: Callable[[str], None] | None = None) -> list[Path]:
    """Write the reader notebooks of every chapter of a finished build; return their paths.

    Args:
        build: the build folder (``_build``), holding ``html/`` and ``jupyter_execute/``.
        env: the Sphinx build environment of that build.
        config: the parsed ``_config.yml``.
        root: the repository root (for ``book/references.bib`` and the stored chapters).
        warn: called with each problem; by default, problems raise :class:`ReaderError`.
    """
    html = build / "html"
    if not html.is_dir():
        raise ReaderError(f"{html} does not exist: build the book first")
    bibs = [root / p for p in (config.get("bibtex_bibfiles") or [])]
    template = Book(base_url=book_url(config), title=config.get("title", "the book"),
                    citations=citations_from_bib(bibs))
    _from_env(env, template)
    written, problems = [], []
    folder = html / NOTEBOOKS
    folder.mkdir(parents=True, exist_ok=True)
    template.glue = {d: glue_data(build, d) for d in chapters(env)}
    for docname in chapters(env):
        book = Book(**{**template.__dict__, "docname": docname, "problems": []})
        source = Path(env.doc2path(docname))
        nb = reader_notebook(nbformat.read(source, as_version=4), book)
        text = nbformat.writes(nb)
        targets = [html / "_sources" / f"{docname}.ipynb", folder / source.name]
        for target in targets:  # unchanged files keep their time stamp (make lab relies on it)
            if not target.exists() or target.read_text(encoding="utf8") != text:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf8")
        written.append(targets[-1])
        problems += book.problems
    for problem in problems:
        if warn is None:
            raise ReaderError("reader notebooks: " + problem)
        warn(problem)
    return written


def load_env(build: Path) -> Any:
    """The pickled Sphinx environment of a finished build."""
    path = build / ".doctrees" / "environment.pickle"
    if not path.exists():
        raise ReaderError(f"{path} does not exist: build the book first")
    with path.open("rb") as f:
        return pickle.load(f)


def load_config(root: Path = ROOT) -> dict[str, Any]:
    """The book's ``_config.yml``."""
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf8"))


def on_build_finished(app: Any, exception: Exception | None) -> None:
    """Sphinx ``build-finished``: write the reader notebooks of an HTML build."""
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    root = Path(app.confdir)
    try:
        config = load_config(root)
        written = generate(Path(app.outdir).parent, app.env, config, root,
                           warn=lambda m: logger.warning(m, type="dotbook", subtype="reader"))
    except (ReaderError, OSError) as error:
        logger.warning(f"reader notebooks: {error}", type="dotbook", subtype="reader")
        return
    logger.info(f"reader notebooks: {len(written)} written to {Path(app.outdir) / NOTEBOOKS}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build", nargs="?", default=str(ROOT / "_build"),
                        help="the build folder of a finished book build (default: _build)")
    args = parser.parse_args(argv)
    build = Path(args.build)
    problems: list[str] = []
    try:
        written = generate(build, load_env(build), load_config(ROOT), ROOT, warn=problems.append)
    except ReaderError as error:
        print(error, file=sys.stderr)
        return 1
    for path in written:
        print("wrote", path)
    for problem in problems:
        print("problem:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
