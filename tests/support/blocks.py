"""Code blocks of the documentation: README's Markdown fences and the Sphinx pages'
``.. code-block::`` directives."""
import re


def markdown_blocks(path, language="python"):
    """The code of every ```` ```language ```` fence in the Markdown file ``path``."""
    with open(path) as handle:
        return re.findall(rf"```{language}\n(.*?)```", handle.read(), flags=re.S)


def rst_blocks(path):
    """``[(language, classes, code, line)]`` of every ``code-block`` in the reST file
    ``path`` (``classes``: its ``:class:`` option; ``line``: the first line after the
    directive, 1-based)."""
    with open(path) as handle:
        lines = handle.read().splitlines()
    blocks = []
    k = 0
    while k < len(lines):
        match = re.match(r"^(\s*)\.\. code-block::\s*(\S+)\s*$", lines[k])
        if not match:
            k += 1
            continue
        indent, language, start = len(match.group(1)), match.group(2), k + 1
        k += 1
        classes = []
        while k < len(lines) and re.match(r"^\s+:\w[\w-]*:", lines[k]):
            option = lines[k].strip()
            if option.startswith(":class:"):
                classes += option.split(":", 2)[2].split()
            k += 1
        body = []
        while k < len(lines) and (not lines[k].strip()
                                  or len(lines[k]) - len(lines[k].lstrip()) > indent):
            body.append(lines[k])
            k += 1
        body_indent = min((len(text) - len(text.lstrip()) for text in body if text.strip()),
                          default=0)
        code = "\n".join(text[body_indent:] for text in body).strip("\n") + "\n"
        blocks.append((language, classes, code, start))
    return blocks
