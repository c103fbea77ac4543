"""Save a benchmark's results: JSON, Markdown, and its RESULTS.md section.

Each benchmark owns the text of ``benchmarks/RESULTS.md`` between
``<!-- TAG:begin -->`` and ``<!-- TAG:end -->``; a missing section is
appended, the rest of the file is kept.
"""
import json
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


def save_results(out_dir: Path, stem: str, report, markdown: str,
                 tag=None) -> Path:
    """Write ``out_dir/stem.{json,md}``; update section ``tag`` if given.

    Returns:
        Path: ``out_dir / stem`` (without suffix).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / stem
    base.with_suffix('.json').write_text(json.dumps(report, indent=2) + '\n')
    base.with_suffix('.md').write_text(markdown)
    if tag is not None:
        update_section(tag, markdown)
    return base


def save_rows(args, stem: str, rows, markdown: str) -> Path:
    """:func:`save_results` of a benchmark that measures ``rows`` under
    the options ``args`` (with ``out`` and ``no_results_md``): the report
    keeps both, the RESULTS.md section is ``stem``."""
    report = dict(args={k: str(v) for k, v in vars(args).items()}, rows=rows)
    base = save_results(args.out, stem, report, markdown,
                        tag=None if args.no_results_md else stem)
    print(f'wrote {base}.{{json,md}}')
    return base
