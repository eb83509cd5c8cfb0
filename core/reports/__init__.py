"""PDF reports: the order list (List PDF) and delivery slips (帳票 / 納品書).

- :mod:`core.reports.fonts`: the Japanese fonts (reportlab's built-in CID fonts, nothing to
  download or ship) and the text rules: customer text is drawn as text, cut to fit.
- :mod:`core.reports.canvas`: the page frame shared by both (A4 canvas, "page x / y").
- :mod:`core.reports.list_pdf`: the order list as A4 landscape, the CSV export's columns,
  streamed from the same row source page by page.
- :mod:`core.reports.slips`: one 納品書 per order, several orders in one PDF.
"""
