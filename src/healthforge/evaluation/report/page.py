"""The HTML shell of the report: one offline page with inlined plotly.js and CSS."""

from __future__ import annotations

from healthforge.evaluation.report.text import _e

# -- page ------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    from plotly.offline import get_plotlyjs

    # Plotly's bundle contains no "</script" sequence, so inlining it raw is safe.
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n"
        f"<script type='text/javascript'>{get_plotlyjs()}</script>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


_CSS = """
body{margin:0;background:#f6f7f9;color:#1a202c;
 font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
 font-size:15px;line-height:1.5}
main{max-width:1320px;margin:0 auto;padding:24px 32px 64px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:0 0 8px}
h3{font-size:16px;margin:18px 0 6px;color:#2d3748}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:18px 22px;
 margin:18px 0}
.sub{color:#4a5568;margin:0}.help{color:#4a5568;font-size:14px;margin:4px 0 10px}
.note{color:#744210;background:#fffaf0;border-left:4px solid #dd6b20;padding:8px 12px;
 margin:10px 0;font-size:14px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #edf2f7;vertical-align:top}
th{background:#f7fafc;color:#4a5568;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.key,.key{color:#718096;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
.badge{display:inline-block;min-width:44px;text-align:center;border-radius:10px;
 padding:1px 8px;color:#fff;font-weight:600;font-size:12px;text-transform:uppercase}
.pass{background:#1e7b3c}.warn{background:#b7791f}.fail{background:#c53030}
.none{background:#a0aec0}
.counts span{margin-right:18px;font-size:16px}.counts b{font-size:22px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:8px 24px}
.grid div{font-size:14px}.grid b{display:block;font-size:18px}
.plot{width:100%}
.legend span{display:inline-block;width:12px;height:12px;border-radius:2px;margin:0 6px 0 14px;
 vertical-align:-1px}
table.narrow{width:auto;min-width:360px}
table.scores{table-layout:fixed}
"""
