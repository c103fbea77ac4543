"""Replace one marked section of ``benchmarks/RESULTS.md``, keep the rest.

Each benchmark owns the text between ``<!-- TAG:begin -->`` and
``<!-- TAG:end -->``; a missing section is appended.
"""
from pathlib import Path

RESULTS_MD = Path(__file__).resolve().parent / 'RESULTS.md'


def update_section(tag: str, markdown: str, path: Path = RESULTS_MD):
    """Write ``markdown`` as the ``tag`` section of ``path``."""
    begin, end = f'<!-- {tag}:begin -->', f'<!-- {tag}:end -->'
    text = path.read_text() if path.exists() else '# Benchmark results\n'
    section = f'{begin}\n{markdown.rstrip()}\n{end}'
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip('\n') + '\n\n' + section + '\n'
    path.write_text(text)
